from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_MAX = 100
DUE_COLUMNS = ("next_quiet_at", "next_unanswered_at", "next_checkin_at", "next_at_risk_at", "next_advocate_at",
               "next_winback_at", "next_heads_up_at", "next_referable_at")
NOTE_MAX = 2000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Workspace(Base):
    """One Slack team. `enterprise_id` is '' outside Enterprise Grid so the pair can be unique."""

    __tablename__ = "workspaces"
    # every request finds its workspace by team id alone (storage/workspaces.py find_workspace)
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"), Index("ix_workspaces_team", "team_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), server_default=text("''"))
    team_id: Mapped[str] = mapped_column(String(32))
    default_channel_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    digest_week: Mapped[str | None] = mapped_column(String(10))  # the last ISO week its digests were planned
    # Set when Slack says the app was uninstalled or its tokens revoked: nothing is planned or posted for it,
    # and its data is erased once the grace period has passed (unless it is installed again first).
    uninstalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # IANA name; None: the deployment's RAPPORT_TIMEZONE. Business hours and the digest are read in it.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Set while Slack migrates the workspace into an Enterprise Grid org (grid_migration_started, until
    # grid_migration_finished): nothing is posted there meanwhile; planning goes on, so nothing is lost.
    grid_migration_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name_key"),
        Index("ix_clients_workspace_owner", "workspace_id", "owner_id", "status"),  # `list mine` counts from it alone
        Index("ix_clients_workspace_status", "workspace_id", "status"),
        Index("ix_clients_workspace_value", "workspace_id", "value"),
        # planning one workspace at a time (storage/leases.py): a range on (workspace, due time) per rule
        *(Index(f"ix_clients_workspace_{column}", "workspace_id", column, "id") for column in DUE_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # casefolded, whitespace-collapsed name: what lookups and uniqueness use
    name_key: Mapped[str] = mapped_column(String(NAME_MAX * 3))
    owner_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default=text("'active'"))
    checkin_count: Mapped[int | None] = mapped_column(Integer)
    checkin_unit: Mapped[str | None] = mapped_column(String(1))
    checkin_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    quiet_after_days: Mapped[int | None] = mapped_column(Integer)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    no_winback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    # What the client is worth a year, in whole units of the workspace's currency; unset ranks as the median.
    value: Mapped[int | None] = mapped_column(BigInteger)
    # From when Rapport has its history: the earlier of created_at and its earliest recorded entry (a backdated
    # touch, an import), kept current with the facts below. NULL (a row written before migration 0021 filled it,
    # or by bulk code that writes none earlier): created_at. Health on a past day, the trend and the rules that
    # look back start here (PRODUCT.md §6), never at the row's creation.
    history_since: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Derived facts, kept current whenever an interaction is written so that lists and the
    # nudge planner never rescan history.
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_contact_direction: Mapped[str | None] = mapped_column(String(4))
    last_their_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_checkin_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unanswered_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    unanswered_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_primary_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_warning_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # The nudge schedule, derived from the facts above whenever they change. The planner selects on these
    # indexed columns, so a sweep costs what is due, not the size of history.
    quiet_threshold_days: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))
    quiet_threshold_how: Mapped[str] = mapped_column(String(16), default="default", server_default=text("'default'"))
    quiet_nudges: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_quiet_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    next_unanswered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    next_checkin_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    next_at_risk_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    next_advocate_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # the former-client series: 1 = the feedback ask, 2.. = soft touches
    winback_nudges: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_winback_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # Advocate first (PRODUCT.md §4.13): a touch with a sponsor while the advocate had not heard from us opens a
    # heads-up episode (since that touch); a touch with the advocate closes it, else a card when it falls due.
    heads_up_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    heads_up_sponsor_id: Mapped[int | None] = mapped_column(Integer)  # the sponsor's contact (no FK: no cycle)
    next_heads_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # After a handoff (PRODUCT.md §4.13) the quiet threshold is halved until then; the referral channel's card
    # (§4.14): when the rule looks next (a praise or acted logged), and when it was last shown (once per 90 days).
    halved_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_referable_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    referable_asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )


class Contact(Base):
    """A named person at a client, with a role (PRODUCT.md §4.13): at most one `primary` (the advocate; the
    database refuses a second), `sponsor`s (senior people), `other`s. `is_primary` mirrors role == 'primary' so
    code that asked for the primary contact before roles existed still finds it. Tied to a Slack user (a member
    of a linked Slack Connect channel), captured messages know who spoke."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_client", "client_id"),
        Index("uq_contacts_client_id_name_key", "client_id", "name_key", unique=True),
        Index("ix_contacts_one_primary", "client_id", unique=True,
              sqlite_where=text("is_primary"), postgresql_where=text("is_primary")),
        Index("ix_contacts_workspace_slack_user", "workspace_id", "slack_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(NAME_MAX * 3))
    role: Mapped[str] = mapped_column(String(16), default="other", server_default=text("'other'"))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32), default="", server_default=text("''"))
    # their address, lowercased: captured mail from or to it is a touch with them (PRODUCT.md §4.15)
    email: Mapped[str | None] = mapped_column(String(254))

    client: Mapped[Client] = relationship(back_populates="contacts")


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_client_occurred", "client_id", "occurred_at"),
        # client_id: the at-risk list and totals group warning signs by client from the index alone
        Index("ix_interactions_workspace_kind_occurred", "workspace_id", "kind", "occurred_at", "client_id"),
        # A captured message is one touch per workspace, however often Slack delivers its event. Per workspace:
        # a Slack Connect channel has one id in every organisation, so two installed workspaces that both link it
        # each keep their own touch of the same message (PRODUCT.md §5 "Tenants"; migration 0012).
        Index("ix_interactions_captured_message", "workspace_id", "channel_id", "message_ts", unique=True,
              sqlite_where=text("source = 'slack'"), postgresql_where=text("source = 'slack'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # 'in' | 'out' | 'both', or NULL for internal records (notes, our own mistakes)
    direction: Mapped[str | None] = mapped_column(String(4))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # the contact the note names, if any: how Rapport knows whether the advocate still talks
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # Where it came from when not typed (PRODUCT.md §4.9): 'slack' for a message captured in a linked channel,
    # 'shortcut' for one logged with Log to Rapport. Never the message's text (a shortcut's note is what the
    # person chose to keep).
    source: Mapped[str | None] = mapped_column(String(16))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(300))
    # Captured from email or a calendar (source 'mail', PRODUCT.md §4.15): a digest of the Message-ID (or of an
    # invitation's UID and occurrence), never the message itself. One touch per client per digest.
    mail_digest: Mapped[str | None] = mapped_column(String(64))


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_referrer_thanked", "referrer_id", "thanked_at"),
        Index("ix_referrals_referred", "referred_id"),
        Index("ix_referrals_workspace_next_nudge_at", "workspace_id", "next_nudge_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    referred_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    thanked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    thanked_by: Mapped[str | None] = mapped_column(String(32))
    thank_nudges: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_nudge_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    referrer: Mapped[Client] = relationship(foreign_keys=[referrer_id])
    referred: Mapped[Client] = relationship(foreign_keys=[referred_id])


class Nudge(Base):
    """The outbox. One row per nudge; `dedup_key` (kind + client + episode) makes planning idempotent."""

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_nudges_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_nudges_client_status", "client_id", "status"),
        Index("ix_nudges_message", "channel_id", "message_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # NULL for the weekly digest, which is about a channel, not one client
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    # a client's question waiting for an answer in this channel (the 'reply' kind)
    linked_channel_id: Mapped[int | None] = mapped_column(ForeignKey("linked_channels.id", ondelete="CASCADE"))
    # a promise or an issue of ours (the 'promise', 'issue' and 'eta' kinds)
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    # a goal agreed with the client (the weekly confidence check, at risk, met or missed: PRODUCT.md §4.11)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    facts: Mapped[str] = mapped_column(Text)  # JSON: what was observed, with dates and numbers
    # pending -> sending -> sent | failed; 'unknown' after a post whose outcome we could not see
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    fallback_reason: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # what someone did about it from Slack: 'done', 'thanked', 'checked in', 'snoozed 2 weeks', 'logged a call'
    handled_action: Mapped[str | None] = mapped_column(String(64))
    handled_by: Mapped[str | None] = mapped_column(String(32))
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The card focus put it on (PRODUCT.md §4.8). A client's nudge without one is waiting: it is due, but its
    # owner's budget for the day went to clients ranked higher. Digests have no card and need none.
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"), index=True)


class Card(Base):
    """What Rapport said about one client on one workday, with every reason due for it merged (§4.8).

    At most one a day per client (the unique key), at most RAPPORT_DAILY_FOCUS a day per owner (FocusDay).
    Closed by a click (done, snoozed, not relevant) or by any touch logged with the client; one left open
    past its day was ignored, and both lower that client's rank for a while.
    """

    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("client_id", "day"),
        Index("ix_cards_workspace_owner_day", "workspace_id", "owner_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))  # the workday in the workspace's timezone, YYYY-MM-DD
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    score: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(String(300))  # "chosen today: at risk, top 10% by value"
    note: Mapped[str | None] = mapped_column(String(300))  # how many more wait, on the day's first card
    closed_action: Mapped[str | None] = mapped_column(String(64))
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FocusDay(Base):
    """How many cards one person was shown on one workday. Selection locks this row, so sweeps racing in
    several processes can never show anyone more than the budget."""

    __tablename__ = "focus_days"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    shown: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # clients still waiting after the day's last selection: a backlog's first day says how many
    waiting: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class AuditEvent(Base):
    """Who changed what. Rows are never updated (a database trigger refuses it). They are deleted only by
    erasure: forgetting a client removes its entries and appends one nameless "forgotten" entry; erasing an
    uninstalled workspace removes them all. `client_id` is not a foreign key so that entry outlives the client."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_workspace_client", "workspace_id", "client_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), server_default=text("''"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Marker(Base):
    """When something last happened, kept in the database so that every process reports the same (metrics)."""

    __tablename__ = "markers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # 'sweep'
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class LinkedChannel(Base):
    """A Slack channel where a client's own people talk with us (PRODUCT.md §4.9): every person's message in it
    is a touch, while it has members from another workspace (Slack Connect). It also keeps the client's question
    waiting for an answer from our side, if there is one."""

    __tablename__ = "linked_channels"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id"),
        Index("ix_linked_channels_client", "client_id"),
        # every message event asks which installed workspaces linked its channel (bot/capture/tenants.py)
        Index("ix_linked_channels_channel", "channel_id"),
        Index("ix_linked_channels_workspace_next_reply_at", "workspace_id", "next_reply_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))  # external members
    linked_by: Mapped[str] = mapped_column(String(32))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The client's earliest message no one from our side has answered yet
    asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    asked_by: Mapped[str | None] = mapped_column(String(32))
    asked_ts: Mapped[str | None] = mapped_column(String(32))
    asked_permalink: Mapped[str | None] = mapped_column(String(300))
    # when the reply rule should look at it again (the calendar bound; business hours are checked then)
    next_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class Commitment(Base):
    """What we owe a client (PRODUCT.md §4.10): a promise to deliver something by a day, or an issue they are
    waiting on us to fix, owed a status update every RAPPORT_UPDATE_EVERY business days until resolved."""

    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_client_done", "client_id", "done_at"),
                      Index("ix_commitments_workspace_done", "workspace_id", "done_at"),
                      Index("ix_commitments_workspace_next_check_at", "workspace_id", "next_check_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # 'promise' | 'issue'
    what: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date | None] = mapped_column(Date)  # a promise's day; an issue's estimate, if given
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # kept, or resolved
    done_by: Mapped[str | None] = mapped_column(String(32))
    done_note: Mapped[str | None] = mapped_column(Text)
    # The schedule the rules keep: when they look at it next, cards so far, what an issue's updates count from,
    # and since when it is late (an overdue promise, or an issue two updates behind: a warning sign).
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    update_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    late_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Goal(Base):
    """What success looks like for a client, agreed up front (PRODUCT.md §4.11): by when, the odds we stated then
    (90, 70, 50 or 30 percent) and up to three barriers we named. The owner is whose goal it is: the client's
    owner when it was agreed, moved by a handoff while it is open, kept once closed (calibration is per owner)."""

    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_client_status", "client_id", "status"),
                      Index("ix_goals_workspace_owner_status", "workspace_id", "owner_id", "status"),
                      Index("ix_goals_workspace_next_check_at", "workspace_id", "next_check_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    what: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    odds: Mapped[int] = mapped_column(Integer, default=70, server_default=text("70"))  # percent, as stated
    barriers: Mapped[str] = mapped_column(Text, default="[]", server_default=text("'[]'"))  # JSON list, at most 3
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="open", server_default=text("'open'"))  # open|met|missed
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_note: Mapped[str | None] = mapped_column(Text)
    # kept current by every check, so cards, App Home and reviews never rescan the history
    confidence: Mapped[int | None] = mapped_column(Integer)  # the latest, 1-10
    confidence_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    at_risk_since: Mapped[datetime | None] = mapped_column(UtcDateTime())  # a warning sign while set
    # the schedule the rules keep: the next weekly check, or the met-or-missed question once past its date
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class GoalCheck(Base):
    """One answer to "how confident are you now, 1-10?": the trend and the drop rule read these."""

    __tablename__ = "goal_checks"
    __table_args__ = (Index("ix_goal_checks_goal_at", "goal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    confidence: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(32))


class PlanningLease(Base):
    """Who plans a workspace in this pass (PRODUCT.md §7 scale-out): taken atomically by one process, given back
    when it is done, and expiring on its own if that process dies. `pass_at` and `plans` record which pass last
    planned it and how many times: more than once is work repeated, which must never happen."""

    __tablename__ = "planning_leases"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))  # host:pid:pass token, while it is being planned
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pass_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the pass (sweep interval) last planned in
    planned_by: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process that planned it
    plans: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # in that pass
    focused_in: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the pass that last chose its focus cards
    focused_by: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process that chose them


class ReviewMonth(Base):
    """One client's monthly review (PRODUCT.md §4.12), frozen when the month ended: a past review shows what it
    showed then, even after rules or data change. `figures` is JSON whose shape `version` names."""

    __tablename__ = "review_months"
    __table_args__ = (UniqueConstraint("client_id", "month"),
                      Index("ix_review_months_workspace_month", "workspace_id", "month", "client_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # 'YYYY-MM', in the workspace's timezone
    frozen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer)
    figures: Mapped[str] = mapped_column(Text)
    shared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # posted to the client's channel
    shared_by: Mapped[str | None] = mapped_column(String(32))
    # Sharing is whole and once (PRODUCT.md §4.12): where the message went, and when its chart arrived. A share
    # whose message is posted but whose chart is missing is finished by the next click, never posted again.
    shared_channel: Mapped[str | None] = mapped_column(String(32))
    shared_ts: Mapped[str | None] = mapped_column(String(32))
    chart_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReviewFreeze(Base):
    """How far freezing a workspace's last month has got: the month, the last client id frozen (a pass stopped
    part-way carries on from there) and when it finished (then the owners' messages are planned)."""

    __tablename__ = "review_freezes"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    after_client_id: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Handoff(Base):
    """A client handed from one owner to another with ceremony (PRODUCT.md §4.13): the previous owner introduces
    the new one to the primary contact, and the new one is asked how it goes at 30, 60 and 90 days."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_client_at", "client_id", "at"),
                      Index("ix_handoffs_workspace_next_check_at", "workspace_id", "next_check_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    from_user: Mapped[str] = mapped_column(String(32))
    to_user: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(32))
    # closed by any touch between the new owner and the client, or the card's button
    introduced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    introduced_by: Mapped[str | None] = mapped_column(String(32))
    intro_reminded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    checkins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # of the 30/60/90-day ones
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Closeout(Base):
    """The end of a project for a client who stays (PRODUCT.md §4.13): a five-item checklist, ticked by buttons.
    At most one open per client (the open ones are those not yet fully ticked)."""

    __tablename__ = "closeouts"
    __table_args__ = (Index("ix_closeouts_client_done", "client_id", "done_at"),
                      Index("ix_closeouts_workspace_next_check_at", "workspace_id", "next_check_at", "id"),
                      # one open closeout per client, whatever races the command
                      Index("ix_closeouts_open_client", "client_id", unique=True,
                            sqlite_where=text("done_at IS NULL"), postgresql_where=text("done_at IS NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    opened_by: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # every item ticked
    reminded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CloseoutTick(Base):
    """One item of a closeout ticked: by whom and when."""

    __tablename__ = "closeout_ticks"
    __table_args__ = (UniqueConstraint("closeout_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    closeout_id: Mapped[int] = mapped_column(ForeignKey("closeouts.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


# Answers (issue 24). `/client list`: longest silence first, read as two walks of this index that stop at the
# page's end (storage/clients.py longest_silent_first) instead of sorting every client of the workspace.
Index("ix_clients_workspace_their_contact", Client.workspace_id, Client.last_their_contact_at, Client.name_key)
# `/client list quiet`'s total: two ranges of the index (nudged this spell; due), not a test of every client's row
Index("ix_clients_workspace_quiet", Client.workspace_id, Client.status, Client.quiet_nudges, Client.next_quiet_at)
# a client's referrals (the card's, `thank`'s): workspace and referrer lead; thanked_at serves those still to thank
Index("ix_referrals_workspace_referrer", Referral.workspace_id, Referral.referrer_id, Referral.thanked_at)


class ClientCount(Base):
    """How many clients a workspace has, by owner and status, kept by the database itself: triggers on `clients`
    (storage/counts.py, migration 0020) add a row of +1 or -1 for every client added, removed, or moved between
    owners or statuses, so `/client list`'s totals are a sum of a few rows instead of a count of every client.
    Rows are only ever added by writers (no two of them wait on one row); the sweep folds each owner and
    status's rows into one (storage/counts.py fold_client_counts)."""

    __tablename__ = "client_counts"
    __table_args__ = (Index("ix_client_counts_workspace_status_owner", "workspace_id", "status", "owner_id", "delta"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)


class PersonPace(Base):
    """One person's own pace for cards (PRODUCT.md §4.8): fewer a workday than the workspace's number (never more),
    the hour they come, and a pause until a day. No row, or a column left empty: the workspace's way."""

    __tablename__ = "person_paces"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cards: Mapped[int | None] = mapped_column(Integer)  # a workday; read as at most RAPPORT_DAILY_FOCUS
    at: Mapped[str | None] = mapped_column(String(5))  # 'HH:MM' in `tz`: no cards before then on a workday
    tz: Mapped[str | None] = mapped_column(String(64))  # the person's IANA timezone (Slack's) when they set it
    paused_until: Mapped[date | None] = mapped_column(Date)  # no cards before this day (in `tz`); it waits, ranked
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
# Capture from email and calendars (PRODUCT.md §4.15, issue 31). Metadata only: no subject, body, attachment or
# address that matched nothing is ever stored. storage/mail.py has the queries.
# A message is recorded once per client however often it arrives: three teammates BCC one thread, a provider
# retries, a mailbox is imported twice.
Index("uq_interactions_mail_digest", Interaction.workspace_id, Interaction.client_id, Interaction.mail_digest,
      unique=True, sqlite_where=text("mail_digest IS NOT NULL"), postgresql_where=text("mail_digest IS NOT NULL"))
Index("ix_contacts_workspace_email", Contact.workspace_id, Contact.email)
Index("uq_contacts_client_email", Contact.client_id, Contact.email, unique=True)


class MailKey(Base):
    """A workspace's private inbound key: mail sent to `<key>@$RAPPORT_MAIL_DOMAIN`, or posted by a provider to
    `/mail/<provider>/<key>`, is that workspace's. Rotating replaces it: the old one is refused from then on."""

    __tablename__ = "mail_keys"
    __table_args__ = (UniqueConstraint("key"),)

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))


class ClientDomain(Base):
    """A domain whose addresses are a client's people (never a free-mail one). One client per domain a workspace."""

    __tablename__ = "client_domains"
    __table_args__ = (UniqueConstraint("workspace_id", "domain"), Index("ix_client_domains_client", "client_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253))  # lowercased, IDNA (xn--) form
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))


class OurDomain(Base):
    """A domain of the workspace's own people (`/client mail ours`): mail from them to a client is ours, `out`."""

    __tablename__ = "our_domains"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))


class MailMeeting(Base):
    """A meeting with a client from an invitation (iTIP REQUEST), by a digest of its UID and the occurrence it
    overrides (`recurrence`, '' for the event itself). Its started occurrences become two-way `meeting` touches:
    `next_touch_at` is the next start not yet one (the sweep writes them as they pass). An update with a
    SEQUENCE at least as high moves it; a CANCEL marks it cancelled."""

    __tablename__ = "mail_meetings"
    __table_args__ = (UniqueConstraint("client_id", "uid_digest", "recurrence"),
                      Index("ix_mail_meetings_workspace_uid", "workspace_id", "uid_digest"),
                      Index("ix_mail_meetings_workspace_next_touch_at", "workspace_id", "next_touch_at", "id"),
                      Index("ix_mail_meetings_next_touch_at", "next_touch_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    uid_digest: Mapped[str] = mapped_column(String(64))
    recurrence: Mapped[str] = mapped_column(String(32), default="", server_default=text("''"))  # ISO, UTC
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    all_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    rrule: Mapped[str | None] = mapped_column(String(500))
    # JSON list of ISO instants: the invitation's EXDATEs and the occurrences other rows override or cancel
    skipped: Mapped[str] = mapped_column(Text, default="[]", server_default=text("'[]'"))
    zone: Mapped[str | None] = mapped_column(String(64))  # IANA name the times were written in
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_touch_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MailDay(Base):
    """How many messages a workspace captured and skipped on a day, by what became of them ('email', 'meeting',
    'cancelled', or the reason one was skipped): `/client mail` and App Home show the last 7 days. Counts only:
    no address, subject or digest."""

    __tablename__ = "mail_days"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD in the workspace's timezone
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class MailgunToken(Base):
    """A Mailgun webhook's signed token, kept while its timestamp could still pass: a request that repeats one is
    a replay and is refused."""

    __tablename__ = "mailgun_tokens"
    __table_args__ = (Index("ix_mailgun_tokens_seen_at", "seen_at"),)

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
