-- The Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022), PostgreSQL. Keep in step with
-- sqlite/0026_rpo_register.sql. A check is one answer of the register to a list of numbers:
-- when it answered, until when it counts (15 days by default), the file's SHA-256, who
-- imported it. Each number keeps its latest answer, when its enrolment was first found (the
-- instant before which its phone-marketing and third-party consents were revoked) and the
-- check that found it, and whether it is in a public directory.
CREATE TABLE rpo_checks (
    id UUID PRIMARY KEY,
    answered_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 BYTEA NOT NULL,
    answer_mode TEXT NOT NULL CHECK (answer_mode IN ('enrolled', 'callable')),
    imported_by TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    numbers BIGINT NOT NULL,
    enrolled BIGINT NOT NULL,
    newly_enrolled BIGINT NOT NULL,
    revoked BIGINT NOT NULL
);
CREATE INDEX rpo_checks_answered ON rpo_checks (answered_at);

CREATE TABLE rpo_numbers (
    phone TEXT PRIMARY KEY,
    check_id UUID NOT NULL REFERENCES rpo_checks (id),
    answered_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    enrolled BOOLEAN NOT NULL,
    enrolled_found_at BIGINT,
    found_by UUID REFERENCES rpo_checks (id),
    in_public_directory BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((enrolled AND enrolled_found_at IS NOT NULL) OR (NOT enrolled AND enrolled_found_at IS NULL))
);
CREATE INDEX rpo_numbers_found_by ON rpo_numbers (found_by);
