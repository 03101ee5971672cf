// The record's schema as numbered, forward-only migrations: index i takes version i to i + 1.
// Never edit a migration that has shipped; add the next one.
#include "record_schema.h"

namespace reread {

const std::vector<std::string>& record_migrations() {
  static const std::vector<std::string> migrations = {
      // 1: users, tokens, boards, cases, reports, annotations, audit.
      R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
  display_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('consultant', 'referrer', 'board', 'admin')),
  created_at TEXT NOT NULL
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  hash BLOB NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE boards (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128)
);
CREATE TABLE board_members (
  board_id INTEGER NOT NULL REFERENCES boards(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (board_id, user_id)
);
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  accession TEXT NOT NULL UNIQUE,
  patient_ref TEXT NOT NULL,
  specimen TEXT NOT NULL DEFAULT '',
  site TEXT NOT NULL DEFAULT '',
  clinical_history TEXT NOT NULL DEFAULT '',
  question TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  due_at TEXT,
  status TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'in_review', 'signed_out')),
  institution TEXT NOT NULL DEFAULT '',
  originating_pathologist TEXT NOT NULL DEFAULT '',
  referrer_id INTEGER REFERENCES users(id),
  original_report TEXT NOT NULL,
  proposed_treatment TEXT NOT NULL DEFAULT '',
  blinded_first_read INTEGER NOT NULL DEFAULT 0,
  annotation_classes TEXT NOT NULL DEFAULT '[]',
  signed_out_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE case_slides (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  slide_id TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  position INTEGER NOT NULL,
  PRIMARY KEY (case_id, slide_id)
);
CREATE INDEX case_slides_by_slide ON case_slides(slide_id);
CREATE TABLE case_consultants (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (case_id, user_id)
);
CREATE TABLE case_boards (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  board_id INTEGER NOT NULL REFERENCES boards(id),
  PRIMARY KEY (case_id, board_id)
);
CREATE TABLE consult_reports (
  case_id INTEGER PRIMARY KEY REFERENCES cases(id),
  fields TEXT NOT NULL DEFAULT '{}',
  free_text TEXT NOT NULL DEFAULT '',
  discrepancy TEXT CHECK (discrepancy IN ('concordant', 'minor', 'major')),
  additional_studies TEXT NOT NULL DEFAULT '',
  trial_comments TEXT NOT NULL DEFAULT '',
  annotation_refs TEXT NOT NULL DEFAULT '[]',
  initial_impression TEXT,
  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),
  signed_by INTEGER REFERENCES users(id),
  signed_at TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL
);
-- A signed report is immutable: only addenda follow it.
CREATE TRIGGER consult_reports_signed_are_immutable BEFORE UPDATE ON consult_reports
  WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, 'a signed consult report cannot change'); END;
CREATE TRIGGER consult_reports_signed_are_kept BEFORE DELETE ON consult_reports
  WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, 'a signed consult report cannot be deleted'); END;
CREATE TABLE addenda (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  text TEXT NOT NULL CHECK (length(text) > 0),
  author_id INTEGER NOT NULL REFERENCES users(id),
  signed_at TEXT NOT NULL
);
CREATE TRIGGER addenda_are_immutable BEFORE UPDATE ON addenda
  BEGIN SELECT RAISE(ABORT, 'a signed addendum cannot change'); END;
CREATE TRIGGER addenda_are_kept BEFORE DELETE ON addenda
  BEGIN SELECT RAISE(ABORT, 'a signed addendum cannot be deleted'); END;
CREATE TABLE annotations (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  slide_id TEXT NOT NULL,
  geometry TEXT NOT NULL,
  class_name TEXT NOT NULL DEFAULT '',
  class_color TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  author_id INTEGER NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  deleted_at TEXT,
  FOREIGN KEY (case_id, slide_id) REFERENCES case_slides(case_id, slide_id)
);
CREATE INDEX annotations_by_slide ON annotations(case_id, slide_id);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  user TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_time ON audit(at);
-- Append-only: nothing may alter or remove what was recorded.
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
      // 2: annotations.client_uid, the client's key that makes a resent create find the annotation it
      // made (the viewer's offline queue); many annotations have none, no two share one.
      R"sql(
ALTER TABLE annotations ADD COLUMN client_uid TEXT
  CHECK (client_uid IS NULL OR (length(client_uid) BETWEEN 16 AND 64 AND client_uid NOT GLOB '*[^A-Za-z0-9_-]*'));
CREATE UNIQUE INDEX annotations_by_client_uid ON annotations(client_uid);
)sql",
  };
  return migrations;
}

}  // namespace reread
