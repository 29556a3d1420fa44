"""Drives the pure router like a user would, keeping the state between events as the service does."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dialogs import router
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory
from dialogs.events import Attachment, Event, Open, Press, Unsupported, parse_text
from dialogs.policy.pack import PolicyPack
from dialogs.replies import Effect, RegisterUser, Reply
from dialogs.state import DialogState
from dialogs.texts import Texts

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


@dataclass
class PureChat:
    directory: OrgDirectory
    policy: PolicyPack | None = None
    viewer: Viewer = field(default_factory=Viewer)
    locale: str = "zh_CN"
    state: DialogState | None = None
    effects: list[Effect] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)

    def send(self, event: Event) -> list[Reply]:
        ctx = Context(
            texts=Texts(self.locale), viewer=self.viewer, directory=self.directory, policy=self.policy
        )
        result = router.route(self.state, event, ctx)
        # Round-trip through JSON as the database does, so nothing relies on in-memory objects.
        self.state = DialogState.from_json(result.state.to_json()) if result.state else None
        self.effects.extend(result.outcome.effects)
        for effect in result.outcome.effects:
            if isinstance(effect, RegisterUser):
                self.viewer = replace(
                    self.viewer,
                    registered=True,
                    name=effect.name,
                    unit_code=effect.unit_code,
                    position=effect.position,
                    roles=self.viewer.roles | {"cadre"},
                )
        self.last = result.outcome.replies
        return self.last

    def new_filing(self, seed: dict[str, str] | None = None) -> list[Reply]:
        """What the service's /new does: start a draft on the pure engine."""
        from dialogs.flows import prefiling
        from dialogs.registry import dialogs_for

        ctx = Context(
            texts=Texts(self.locale), viewer=self.viewer, directory=self.directory, policy=self.policy
        )
        result = prefiling.start(dialogs_for(self.policy)[prefiling.NAME], ctx, seed=seed)
        self.state = DialogState.from_json(result.state.to_json()) if result.state else None
        self.last = result.outcome.replies
        return self.last

    def file(self, name: str = "纪要.pdf", size: int = 1000) -> list[Reply]:
        return self.send(Attachment(NOW, "document", f"file-{name}", name, "application/pdf", size))

    def text(self, text: str) -> list[Reply]:
        return self.send(parse_text(NOW, text))

    def open(self) -> list[Reply]:
        return self.send(Open(NOW))

    def sticker(self) -> list[Reply]:
        return self.send(Unsupported(NOW, "sticker"))

    def photo(self) -> list[Reply]:
        return self.send(Attachment(NOW, "photo", "file-1", None, "image/jpeg", 1000))

    def press(self, label: str) -> list[Reply]:
        return self.send(Press(NOW, self.action(label)))

    def action(self, label: str) -> str:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for button in row:
                    if button.label == label:
                        return button.action
        raise AssertionError(
            f"no button {label!r} in {[b.label for r in self.last for row in r.buttons for b in row]}"
        )

    @property
    def said(self) -> str:
        return "\n".join(r.text for r in self.last)

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]
