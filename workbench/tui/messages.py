"""Textual messages for the domain events: one Message class per event, each wrapping the event as-is.

The session's listener only posts these (no widget work on the emit path); screens react with
`on_<message>` handlers. Handler names follow the class names: `on_decision_made`, `on_stream_delta`, ...
They do not bubble: the screen that subscribed is the one that shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from workbench import events
from workbench.tui.feed import LiveState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from workbench.replay.compare import Comparison
    from workbench.replay.curves import Curve


class DecisionMade(Message, bubble=False):
    """The router chose a deployment for a request."""

    def __init__(self, event: events.DecisionMade) -> None:
        super().__init__()
        self.event = event


class StreamDelta(Message, bubble=False):
    """A chunk of response text arrived (streaming sends only)."""

    def __init__(self, event: events.StreamDelta) -> None:
        super().__init__()
        self.event = event


class ResponseReceived(Message, bubble=False):
    """The transport finished (ok or failed) and returned the final response."""

    def __init__(self, event: events.ResponseReceived) -> None:
        super().__init__()
        self.event = event


class QualityScored(Message, bubble=False):
    """The scorer rated the response."""

    def __init__(self, event: events.QualityScored) -> None:
        super().__init__()
        self.event = event


class TrajectoryLogged(Message, bubble=False):
    """The request's trajectory is complete and handed to the store."""

    def __init__(self, event: events.TrajectoryLogged) -> None:
        super().__init__()
        self.event = event


class BreakerChanged(Message, bubble=False):
    """A deployment's circuit breaker changed state (the Live screen's board shows it at the next flush)."""

    def __init__(self, event: events.BreakerChanged) -> None:
        super().__init__()
        self.event = event


class LiveSnapshot(Message, bubble=False):
    """The Live screen's coalesced state at one flush. A newer snapshot replaces a queued older one: each is
    cumulative, so a backlog collapses to the latest without losing anything (Toolong's `can_replace`)."""

    def __init__(self, state: LiveState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveSnapshot)


class ReplayProgress(Message, bubble=False):
    """A comparison advanced: `done` of `total` prompts replayed for pipeline `label`. Replaces a queued older
    progress message."""

    def __init__(self, label: str, done: int, total: int) -> None:
        super().__init__()
        self.label = label
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReplayProgress)


class ReplayFinished(Message, bubble=False):
    """A comparison finished; `comparison` is None when it was cancelled. `curves` are the learning curves
    replayed beside it (one per pipeline with a config; baselines have none)."""

    def __init__(self, comparison: Comparison | None, curves: Sequence[Curve] = ()) -> None:
        super().__init__()
        self.comparison = comparison
        self.curves = list(curves)


DomainMessage = DecisionMade | StreamDelta | ResponseReceived | QualityScored | TrajectoryLogged | BreakerChanged


def to_message(event: events.Event) -> DomainMessage:
    """Wrap a domain event in its Textual message."""
    match event:
        case events.DecisionMade():
            return DecisionMade(event)
        case events.StreamDelta():
            return StreamDelta(event)
        case events.ResponseReceived():
            return ResponseReceived(event)
        case events.QualityScored():
            return QualityScored(event)
        case events.TrajectoryLogged():
            return TrajectoryLogged(event)
        case events.BreakerChanged():
            return BreakerChanged(event)
    raise TypeError(f"unknown workbench event {type(event).__name__}")  # pragma: no cover


__all__ = [
    "BreakerChanged",
    "DecisionMade",
    "DomainMessage",
    "LiveSnapshot",
    "QualityScored",
    "ReplayFinished",
    "ReplayProgress",
    "ResponseReceived",
    "StreamDelta",
    "TrajectoryLogged",
    "to_message",
]
