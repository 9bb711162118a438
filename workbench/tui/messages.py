"""Textual messages for the domain events: one Message class per event, each wrapping the event as-is.

The session's listener only posts these (no widget work on the emit path); screens react with
`on_<message>` handlers. Handler names follow the class names: `on_decision_made`, `on_stream_delta`, ...
They do not bubble: the screen that subscribed is the one that shows them.
"""

from __future__ import annotations

from textual.message import Message

from workbench import events


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
    """A deployment's circuit breaker changed state (no screen shows it yet; posting it must not crash)."""

    def __init__(self, event: events.BreakerChanged) -> None:
        super().__init__()
        self.event = event


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
    "QualityScored",
    "ResponseReceived",
    "StreamDelta",
    "TrajectoryLogged",
    "to_message",
]
