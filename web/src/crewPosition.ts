// Where the phone is. The last fix is kept (for the distance to each task); while on duty each
// fix is shared with the dispatch center as team.located, at most one every SHARE_EVERY_MS
// unless the crew moved MOVED_M; a fix taken with no network waits, and only the newest one is
// sent when the network returns (routing wants where the team is, not where it was).
import { type Fix, shareLocation } from "./crewApi";
import { distanceKm } from "./crew";

const KEPT = "everycall.crew.position";
const SHARE_EVERY_MS = 30_000;
const MOVED_M = 100;

export function lastPosition(): Fix | null {
  try {
    return JSON.parse(localStorage.getItem(KEPT) ?? "null") as Fix | null;
  } catch {
    return null;
  }
}

export class PositionSharing {
  private watch: number | null = null;
  private sent: Fix | null = null;
  private waiting: Fix | null = null;

  constructor(
    private readonly teamId: string,
    private readonly onFix: (fix: Fix) => void,
    private readonly onProblem: () => void,
  ) {}

  /** Watch the position (while on duty); false where the browser has no geolocation. */
  start(): boolean {
    if (!("geolocation" in navigator)) return false;
    if (this.watch === null) {
      this.watch = navigator.geolocation.watchPosition(
        (position) => this.took(position),
        () => this.onProblem(),
        { enableHighAccuracy: true, maximumAge: 15_000 },
      );
    }
    return true;
  }

  stop(): void {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
    this.waiting = null;
  }

  /** Send the fix that waited for the network, if one did. */
  async resend(): Promise<void> {
    const fix = this.waiting;
    if (!fix || this.watch === null) return;
    try {
      await shareLocation(this.teamId, fix);
      this.sent = fix;
      if (this.waiting === fix) this.waiting = null;
    } catch {
      // still no network, or the server is away: the newest fix keeps waiting
    }
  }

  private took(position: GeolocationPosition): void {
    const fix: Fix = {
      latitude: position.coords.latitude,
      longitude: position.coords.longitude,
      accuracy_m: Number.isFinite(position.coords.accuracy) ? position.coords.accuracy : null,
      located_at: new Date(position.timestamp).toISOString(),
    };
    localStorage.setItem(KEPT, JSON.stringify(fix));
    this.onFix(fix);
    if (this.worthSending(fix)) {
      this.waiting = fix;
      void this.resend();
    }
  }

  private worthSending(fix: Fix): boolean {
    if (!this.sent) return true;
    const moved = (distanceKm(this.sent, fix) ?? 0) * 1000;
    const waited = Date.parse(fix.located_at) - Date.parse(this.sent.located_at);
    return moved >= MOVED_M || waited >= SHARE_EVERY_MS;
  }
}
