// Hubei's 17 prefecture-level divisions drawn as SVG paths, and points placed on them: an
// equirectangular projection scaled by the cosine of the province's middle latitude, so
// shapes keep their proportions. The boundaries are bundled (assets/hubei-divisions.json, from
// Apache ECharts 4.9.0, Apache-2.0): no tile server, no internet.
import hubei from "./assets/hubei-divisions.json";

type Ring = [number, number][];
interface Division {
  properties: { code: string; name: string; name_en: string; cp?: [number, number] };
  geometry: { coordinates: Ring[][] };
}

export const BOUNDS = { west: 108.3, east: 116.2, south: 29.0, north: 33.3 };
const SCALE = 100; // SVG units per degree of latitude
const COS = Math.cos(((BOUNDS.south + BOUNDS.north) / 2) * (Math.PI / 180));

export const WIDTH = (BOUNDS.east - BOUNDS.west) * COS * SCALE;
export const HEIGHT = (BOUNDS.north - BOUNDS.south) * SCALE;

export function project(longitude: number, latitude: number): [number, number] {
  return [(longitude - BOUNDS.west) * COS * SCALE, (BOUNDS.north - latitude) * SCALE];
}

export function unproject(x: number, y: number): [number, number] {
  return [x / (COS * SCALE) + BOUNDS.west, BOUNDS.north - y / SCALE];
}

function pathOf(polygons: Ring[][]): string {
  const rings = polygons.flat();
  return rings
    .map((ring) => "M" + ring.map(([lon, lat]) => project(lon, lat).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
    .join("");
}

export interface DivisionShape {
  code: string;
  name: string;
  nameEn: string;
  path: string;
  label: [number, number];
}

export const DIVISIONS: DivisionShape[] = (hubei.features as unknown as Division[]).map((f) => ({
  code: f.properties.code,
  name: f.properties.name,
  nameEn: f.properties.name_en,
  path: pathOf(f.geometry.coordinates),
  label: f.properties.cp ? project(...f.properties.cp) : project(112.3, 31),
}));
