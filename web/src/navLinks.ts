// Navigation to a task: a geo: URI (RFC 5870) for the phone's own map app, and the URI schemes
// of the map apps crews in China use (高德, 百度, 腾讯). Those apps work in GCJ-02, the offset
// coordinates China's maps are drawn in; everycall keeps WGS84 (what GPS gives), so their
// links carry the converted point, and say so where the scheme asks.
import type { MessageKey } from "./i18n";
import type { Place } from "./crew";

export interface NavLink {
  label: MessageKey;
  href: string;
}

// Krasovsky 1940, the ellipsoid the GCJ-02 offset is computed on
const A = 6378245.0;
const EE = 0.00669342162296594323;

function outsideChina(p: Place): boolean {
  return p.longitude < 72.004 || p.longitude > 137.8347 || p.latitude < 0.8293 || p.latitude > 55.8271;
}

function offsetLatitude(x: number, y: number): number {
  let d = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  d += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  d += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  d += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return d;
}

function offsetLongitude(x: number, y: number): number {
  let d = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  d += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  d += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  d += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return d;
}

/** A WGS84 point as GCJ-02 (unchanged outside China, where no offset applies). */
export function toGcj02(p: Place): Place {
  if (outsideChina(p)) return p;
  const x = p.longitude - 105;
  const y = p.latitude - 35;
  const radLat = (p.latitude / 180) * Math.PI;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  const dLat = (offsetLatitude(x, y) * 180) / (((A * (1 - EE)) / (magic * Math.sqrt(magic))) * Math.PI);
  const dLon = (offsetLongitude(x, y) * 180) / ((A / Math.sqrt(magic)) * Math.cos(radLat) * Math.PI);
  return { latitude: p.latitude + dLat, longitude: p.longitude + dLon };
}

const SOURCE = "everycall";
const fixed = (n: number): string => n.toFixed(6);

/** The links to navigate to `place` (WGS84), named `name` (the address, or the task id). */
export function navLinks(place: Place, name: string): NavLink[] {
  const lat = fixed(place.latitude);
  const lon = fixed(place.longitude);
  const gcj = toGcj02(place);
  const [glat, glon] = [fixed(gcj.latitude), fixed(gcj.longitude)];
  const label = encodeURIComponent(name);
  return [
    { label: "crewNavGeo", href: `geo:${lat},${lon}?q=${lat},${lon}(${label})` },
    {
      // dev=0: the point is GCJ-02 already; t=0: by car
      label: "crewNavAmap",
      href: `amapuri://route/plan/?sourceApplication=${SOURCE}&dlat=${glat}&dlon=${glon}&dname=${label}&dev=0&t=0`,
    },
    {
      label: "crewNavBaidu",
      href:
        `baidumap://map/direction?destination=latlng:${glat},${glon}|name:${label}` +
        `&coord_type=gcj02&mode=driving&src=webapp.sgcc-hubei.${SOURCE}`,
    },
    {
      label: "crewNavTencent",
      href: `qqmap://map/routeplan?type=drive&to=${label}&tocoord=${glat},${glon}&referer=${SOURCE}`,
    },
  ];
}
