"""webhooks: subscriptions, deliveries and the dispatcher's feed cursors"""

from tdi_kit.migration_steps import create_table, drop_tables

revision, down_revision = "0005", "0004"
branch_labels = depends_on = None


def upgrade() -> None:
    create_table(
        "webhook_subscriptions",
        """
        id                    uuid    pk
        organisation_code     str64   ix
        url                   str2048
        event_types           json
        description           str500  null
        enabled               bool
        secret                str100
        consecutive_failures  int
        disabled_reason       str500  null
        created_at            time
        updated_at            time
        references organisation_code -> organisations.code
        """,
    )
    create_table(
        "webhook_deliveries",
        """
        id               uuid   pk
        subscription_id  uuid
        event_id         uuid
        event_type       str64
        body             text
        status           str16
        attempts         int
        round_start      int
        next_attempt_at  time   null
        last_attempt_at  time   null
        response_code    int    null
        latency_ms       int    null
        error            str500 null
        created_at       time
        delivered_at     time   null
        references subscription_id -> webhook_subscriptions.id cascade
        unique subscription_id, event_id
        index ix_webhook_deliveries_due: status, next_attempt_at
        index ix_webhook_deliveries_log: subscription_id, created_at
        """,
    )
    create_table(
        "webhook_feed_cursors",
        """
        source      str32  pk
        cursor      str200
        updated_at  time
        """,
    )


def downgrade() -> None:
    drop_tables("webhook_feed_cursors", "webhook_deliveries", "webhook_subscriptions")
