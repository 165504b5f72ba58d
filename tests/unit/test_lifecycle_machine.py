"""The lifecycle state machine over its whole matrix: every state against every action."""

from __future__ import annotations

import pytest

from models.errors import InvalidTransition
from models.incident import IncidentState
from models.lifecycle import OPEN, PASSING, RULES, Action, allowed, transition

S = IncidentState

# The matrix, written out independently of RULES: (state, action) -> resting state after it.
EXPECTED: dict[tuple[IncidentState, Action], IncidentState] = {
    (S.REPORTED, Action.QUEUE): S.QUEUED,
    (S.REPORTED, Action.ASSIGN): S.ASSIGNED,
    (S.QUEUED, Action.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, Action.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ASSIGNED, Action.DECLINE): S.QUEUED,
    (S.ACKNOWLEDGED, Action.DECLINE): S.QUEUED,
    (S.EN_ROUTE, Action.DECLINE): S.QUEUED,
    (S.ASSIGNED, Action.WITHDRAW): S.QUEUED,
    (S.ACKNOWLEDGED, Action.DEPART): S.EN_ROUTE,
    (S.ACKNOWLEDGED, Action.ARRIVE): S.ON_SCENE,
    (S.EN_ROUTE, Action.ARRIVE): S.ON_SCENE,
    (S.ON_SCENE, Action.RESOLVE): S.RESOLVED,
    (S.REPORTED, Action.MERGE): S.MERGED,
    (S.QUEUED, Action.MERGE): S.MERGED,
    (S.MERGED, Action.UNLINK): S.QUEUED,
    **{(s, Action.CANCEL): S.CANCELLED for s in (*sorted(OPEN), S.MERGED)},
    **{(s, Action.ESCALATE): s for s in sorted(OPEN)},
    **{(s, Action.CHANGE_PRIORITY): s for s in (*sorted(OPEN), S.MERGED)},
    **{(s, Action.REASSIGN): S.ASSIGNED for s in (S.QUEUED, S.ASSIGNED, S.ACKNOWLEDGED)},
    (S.EN_ROUTE, Action.REASSIGN): S.ASSIGNED,
}
ALL = [(state, action) for state in IncidentState for action in Action]
REFUSED = [pair for pair in ALL if pair not in EXPECTED]


@pytest.mark.parametrize(("state", "action"), list(EXPECTED), ids=str)
def test_every_allowed_transition_lands_where_expected(
    state: IncidentState, action: Action
) -> None:
    step = transition(state, action)
    assert step.target is EXPECTED[(state, action)]
    assert step.source is state and step.events == RULES[action].events
    assert allowed(state.value, action)


@pytest.mark.parametrize(("state", "action"), REFUSED, ids=str)
def test_every_other_transition_is_refused_naming_the_current_state(
    state: IncidentState, action: Action
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(state, action, "incident inc-1")
    assert refused.value.current == state.value
    assert str(refused.value) == f"cannot {action.value} incident inc-1: it is {state.value}"
    assert not allowed(state, action)


def test_the_matrix_is_not_trivial() -> None:
    assert len(EXPECTED) > 30 and len(REFUSED) > 100


@pytest.mark.parametrize("state", sorted(PASSING))
def test_passing_states_are_never_rested_in(state: IncidentState) -> None:
    """declined, reassigned, escalated show in the timeline; nothing can start from them."""
    assert not any(allowed(state, action) for action in Action)
    assert all(RULES[a].target is not state for a in Action)


def test_declines_and_withdrawals_pass_through_their_named_state() -> None:
    assert transition(S.ASSIGNED, Action.DECLINE).via is S.DECLINED
    assert transition(S.ASSIGNED, Action.WITHDRAW).via is S.REASSIGNED
    assert transition(S.ASSIGNED, Action.WITHDRAW).events == ("sla.breached", "task.reassigned")
    escalated = transition(S.QUEUED, Action.ESCALATE)
    assert (escalated.target, escalated.via) == (S.QUEUED, S.ESCALATED)


@pytest.mark.parametrize("state", [S.RESOLVED, S.CANCELLED])
def test_terminal_states_allow_nothing(state: IncidentState) -> None:
    assert not any(allowed(state, action) for action in Action)


def test_an_unknown_state_is_not_silently_accepted() -> None:
    with pytest.raises(ValueError):
        transition("teleported", Action.ACKNOWLEDGE)
