-- The purpose of a consent type, PostgreSQL. Keep in step with sqlite/0025_type_purpose.sql.
-- One type, one purpose (GDPR Art. 7(2): consent is never bundled): marketing, profiling,
-- third_party (with the product categories, JSON, never empty) or service. Types defined before
-- purposes were recorded become `marketing`, the strictest reading for telemarketing.
ALTER TABLE consent_types ADD COLUMN purpose TEXT NOT NULL DEFAULT 'marketing'
    CHECK (purpose IN ('marketing', 'profiling', 'third_party', 'service'));
ALTER TABLE consent_types ADD COLUMN purpose_categories TEXT NOT NULL DEFAULT '[]';
