// The board's live stream as the crew's phone hears it: everycall sends a team member only the
// events of its team's tasks. EventSource reconnects by itself and resumes after Last-Event-ID,
// so a phone back in coverage gets what it missed, in order.
import type { Envelope } from "./board";

const HEARD = [
  "team.assigned", "task.acknowledged", "task.declined", "task.departed", "task.arrived",
  "task.resolved", "task.reassigned", "incident.reassigned", "incident.cancelled",
  "incident.reprioritized", "incident.escalated", "sla.clocks_started", "sla.warning", "sla.breached",
];

export function listenToTeam(onEvent: (event: Envelope) => void, onLive: (live: boolean) => void): EventSource {
  const stream = new EventSource("/events/stream", { withCredentials: true });
  stream.onopen = () => onLive(true);
  stream.onerror = () => onLive(false);
  const heard = (message: MessageEvent<string>) => onEvent(JSON.parse(message.data) as Envelope);
  for (const type of HEARD) stream.addEventListener(type, heard as EventListener);
  return stream;
}
