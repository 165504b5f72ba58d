// The call-taker's look-ups (an address resolved offline, open incidents of the same kind
// nearby, the hardship register) and the pin's arithmetic: which division holds it, how far a
// key press moves it.
import { call } from "./api";
import hubei from "./assets/hubei-divisions.json";

export interface Position {
  latitude: number;
  longitude: number;
}

export interface Place {
  status: "resolved" | "outside_hubei" | "unresolved";
  message: string;
  division: string | null;
  division_name: string | null;
  district: string | null;
  adcode: string | null;
  latitude: number | null;
  longitude: number | null;
  precision: "district" | "division" | null;
  province: string | null;
}

export interface NearbyIncident {
  id: string;
  kind: string;
  priority: string;
  state: string;
  address: string;
  latitude: number;
  longitude: number;
  distance_km: number;
  reported_at: string;
}

export interface Nearby {
  count: number;
  radius_km: number;
  incidents: NearbyIncident[];
}

export interface Household {
  account: string;
  address: string;
  division: string;
  hardship: boolean;
  note: string;
  updated_at: string;
}

export const resolvePlace = (address: string): Promise<Place> =>
  call("GET", `/places/resolve?${new URLSearchParams({ address })}`);

export const nearbyIncidents = (kind: string, at: Position): Promise<Nearby> =>
  call("GET", `/incidents/nearby?${new URLSearchParams({ kind, latitude: String(at.latitude), longitude: String(at.longitude) })}`);

export const households = (query: { account: string } | { address: string }): Promise<Household[]> =>
  call("GET", `/households?${new URLSearchParams(query)}`);

// A key press moves the pin about 100 m; with Shift, about 1 km.
export const STEP_DEGREES = 0.001;
export const BIG_STEP_DEGREES = 0.01;
const MOVES: Record<string, [number, number]> = {
  ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0],
};

export function nudged(at: Position, key: string, big: boolean): Position | null {
  const move = MOVES[key];
  if (!move) return null;
  const step = big ? BIG_STEP_DEGREES : STEP_DEGREES;
  return rounded(at.longitude + move[0] * step, at.latitude + move[1] * step);
}

// five decimals: about a metre, as far as a call-taker's pin means anything
export function rounded(longitude: number, latitude: number): Position {
  return { longitude: Number(longitude.toFixed(5)), latitude: Number(latitude.toFixed(5)) };
}

type Ring = [number, number][];
interface Feature {
  properties: { code: string; name: string };
  geometry: { coordinates: Ring[][] };
}
const FEATURES = hubei.features as unknown as Feature[];

function inside(ring: Ring, longitude: number, latitude: number): boolean {
  // even-odd ray casting eastwards from the point
  let crossings = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > latitude !== yj > latitude && longitude < ((xj - xi) * (latitude - yi)) / (yj - yi) + xi) crossings = !crossings;
  }
  return crossings;
}

// The division whose bundled boundary holds the point (its code and Chinese name), or null:
// the real borders, where the server's fallback is the nearest division seat.
export function divisionAt(at: Position): { code: string; name: string } | null {
  for (const feature of FEATURES) {
    const rings = feature.geometry.coordinates.flat();
    const crossings = rings.filter((ring) => inside(ring, at.longitude, at.latitude)).length;
    if (crossings % 2 === 1) return { code: feature.properties.code, name: feature.properties.name };
  }
  return null;
}

// A label's {name} places filled in: labels stay whole sentences in each language.
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
