"""The streamed response text: chunks are appended as they arrive and joined once per repaint."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


class ResponseView(Widget):
    """Accumulates streamed text. `append` only marks the widget dirty, so a burst of deltas costs one
    render (Textual coalesces refreshes per frame)."""

    # min-height: the view fills its scroll container, so a short text sits at the top even when the
    # container is anchored to the bottom to follow a stream.
    DEFAULT_CSS = """
    ResponseView { height: auto; min-height: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._chunks: list[str] = []
        self._placeholder = ""

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def append(self, chunk: str) -> None:
        self._chunks.append(chunk)
        self.refresh(layout=True)

    def set_text(self, text: str) -> None:
        """Replace the text (e.g. with the final response when a send did not stream)."""
        self._chunks = [text] if text else []
        self.refresh(layout=True)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.refresh(layout=True)

    def clear(self) -> None:
        self._chunks.clear()
        self._placeholder = ""
        self.refresh(layout=True)

    def render(self) -> Content:
        if self._chunks:
            return Content(self.text)
        return Content.assemble((self._placeholder, "dim italic"))


__all__ = ["ResponseView"]
