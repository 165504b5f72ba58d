"""Domain errors: each names what was wrong so the caller can show it as is."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidTransition(DomainError):
    """A lifecycle transition that the current state does not allow."""

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(f"cannot {action} {entity}: it is {current}")
        self.current = current
        self.action = action


class NoEligibleTeam(DomainError):
    """No team can take the incident now; it waits in the queue."""


class NotFound(DomainError):
    """The incident, task or team asked for does not exist (HTTP 404)."""


class Forbidden(DomainError):
    """The caller may not do this, e.g. a team acting on another team's task (HTTP 403)."""


class TaskWithdrawn(DomainError):
    """A team acts on a task that was its own and no longer is: withdrawn by the watchdog,
    reassigned by hand, or given back (HTTP 409, so a phone that queued the tap offline can say
    so instead of showing "not found")."""


class LevelAtCeiling(DomainError):
    """An incident has as many teams as a raised level may ask for (HTTP 409)."""


class SupportsStillOpen(DomainError):
    """A lead task resolves after its support tasks (HTTP 409)."""
