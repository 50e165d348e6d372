-- Members (with the SIN encrypted at rest), claims (grievances), the audit log and the
-- Stripe events already processed. Every tenant table carries organization_id.

CREATE TABLE members (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    first_name      text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name       text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    member_number   text CHECK (member_number IS NULL OR length(member_number) BETWEEN 1 AND 50),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'retired')),
    sin_ciphertext  bytea,
    sin_key_id      text,
    sin_last3       text CHECK (sin_last3 IS NULL OR sin_last3 ~ '^[0-9]{3}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((sin_ciphertext IS NULL) = (sin_key_id IS NULL) AND (sin_key_id IS NULL) = (sin_last3 IS NULL)),
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX members_org_email_key ON members (organization_id, lower(email));
CREATE UNIQUE INDEX members_org_number_key ON members (organization_id, member_number)
    WHERE member_number IS NOT NULL;
CREATE INDEX members_org_page ON members (organization_id, created_at, id);
CREATE INDEX members_sin_key ON members (sin_key_id) WHERE sin_key_id IS NOT NULL;

CREATE TABLE claims (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    member_id       uuid NOT NULL,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_review', 'resolved', 'rejected')),
    priority        text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A claim's member is always of the claim's organization.
    FOREIGN KEY (organization_id, member_id) REFERENCES members (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX claims_org_page ON claims (organization_id, created_at, id);
CREATE INDEX claims_member ON claims (organization_id, member_id);

CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    actor           text NOT NULL,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    request_id      text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_at ON audit_log (organization_id, at);

CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    created     timestamptz,
    received_at timestamptz NOT NULL DEFAULT now()
);
