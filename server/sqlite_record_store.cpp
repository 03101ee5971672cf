// RecordStore on SQLite: the record's tables, each change in one transaction with its audit entry.
#include "sqlite_record_store.h"

#include <algorithm>
#include <chrono>

#include "record_schema.h"

namespace reread {

using json = nlohmann::json;

namespace {

[[noreturn]] void not_found(const std::string& what) { throw RecordError(404, "not found", what); }

std::optional<std::int64_t> user_id(const Database& db, const std::string& name) {
  Statement s = db.prepare("SELECT id FROM users WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.int64(0);
}

std::int64_t require_user(const Database& db, const std::string& name, const char* as) {
  const auto id = user_id(db, name);
  if (!id) throw RecordError(422, "unknown user", std::string(as) + " '" + name + "' is not a user");
  return *id;
}

std::int64_t board_id(const Database& db, const std::string& name) {
  db.prepare("INSERT OR IGNORE INTO boards (name) VALUES (?1)").bind(1, name).run();
  Statement s = db.prepare("SELECT id FROM boards WHERE name = ?1");
  s.bind(1, name);
  s.step();
  return s.int64(0);
}

void write_audit(const Database& db, const Actor& actor, const std::string& action, const std::string& resource,
                 const std::string& detail = {}) {
  db.prepare("INSERT INTO audit (at, user, address, action, resource, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, utc_now())
      .bind(2, actor.user)
      .bind(3, actor.address)
      .bind(4, action)
      .bind(5, resource)
      .bind(6, detail)
      .run();
}

bool case_exists(const Database& db, std::int64_t id) {
  Statement s = db.prepare("SELECT 1 FROM cases WHERE id = ?1");
  s.bind(1, id);
  return s.step();
}

std::vector<std::string> names(const Database& db, const char* sql, std::int64_t id) {
  Statement s = db.prepare(sql);
  s.bind(1, id);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

constexpr const char* kCaseColumns =
    "c.id, c.accession, c.patient_ref, c.specimen, c.site, c.clinical_history, c.question, c.requested_at, "
    "c.due_at, c.status, c.institution, c.originating_pathologist, u.name, c.original_report, "
    "c.proposed_treatment, c.blinded_first_read, c.annotation_classes, c.signed_out_at, c.created_at";

CaseRecord case_row(const Database& db, const Statement& s) {
  CaseRecord c;
  c.id = s.int64(0);
  c.accession = s.text(1);
  c.patient_ref = s.text(2);
  c.specimen = s.text(3);
  c.site = s.text(4);
  c.clinical_history = s.text(5);
  c.question = s.text(6);
  c.requested_at = s.text(7);
  c.due_at = s.optional_text(8).value_or("");
  c.status = s.text(9);
  c.institution = s.text(10);
  c.originating_pathologist = s.text(11);
  c.referrer = s.optional_text(12).value_or("");
  c.original_report = json::parse(s.text(13));
  c.proposed_treatment = s.text(14);
  c.blinded_first_read = s.int64(15) != 0;
  for (const auto& k : json::parse(s.text(16))) c.annotation_classes.push_back(k);
  c.signed_out_at = s.optional_text(17);
  c.created_at = s.text(18);
  Statement slides = db.prepare("SELECT slide_id, label FROM case_slides WHERE case_id = ?1 ORDER BY position");
  slides.bind(1, c.id);
  while (slides.step()) c.slides.push_back({slides.text(0), slides.text(1)});
  c.consultants = names(db,
                        "SELECT u.name FROM case_consultants cc JOIN users u ON u.id = cc.user_id "
                        "WHERE cc.case_id = ?1 ORDER BY u.name",
                        c.id);
  c.boards = names(db,
                   "SELECT b.name FROM case_boards cb JOIN boards b ON b.id = cb.board_id WHERE cb.case_id = ?1 "
                   "ORDER BY b.name",
                   c.id);
  return c;
}

std::optional<CaseRecord> load_case(const Database& db, std::int64_t id) {
  Statement s = db.prepare(std::string("SELECT ") + kCaseColumns +
                           " FROM cases c LEFT JOIN users u ON u.id = c.referrer_id WHERE c.id = ?1");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return case_row(db, s);
}

ConsultReport load_report(const Database& db, std::int64_t case_id) {
  ConsultReport r;
  r.case_id = case_id;
  Statement s = db.prepare(
      "SELECT r.fields, r.free_text, r.discrepancy, r.additional_studies, r.trial_comments, r.annotation_refs, "
      "r.initial_impression, r.status, u.name, r.signed_at, r.version, r.updated_at "
      "FROM consult_reports r LEFT JOIN users u ON u.id = r.signed_by WHERE r.case_id = ?1");
  s.bind(1, case_id);
  if (s.step()) {
    r.fields = json::parse(s.text(0));
    r.free_text = s.text(1);
    r.discrepancy = s.optional_text(2);
    r.additional_studies = s.text(3);
    r.trial_comments = s.text(4);
    r.annotation_refs = json::parse(s.text(5)).get<std::vector<std::int64_t>>();
    if (auto imp = s.optional_text(6)) r.initial_impression = json::parse(*imp);
    r.status = s.text(7);
    r.signed_by = s.optional_text(8);
    r.signed_at = s.optional_text(9);
    r.version = s.int64(10);
    r.updated_at = s.text(11);
  }
  Statement a = db.prepare(
      "SELECT a.id, a.text, u.name, a.signed_at FROM addenda a JOIN users u ON u.id = a.author_id "
      "WHERE a.case_id = ?1 ORDER BY a.id");
  a.bind(1, case_id);
  while (a.step()) r.addenda.push_back({a.int64(0), a.text(1), a.text(2), a.text(3)});
  return r;
}

constexpr const char* kAnnotationColumns =
    "a.id, a.case_id, a.slide_id, a.geometry, a.class_name, a.class_color, a.label, a.comment, u.name, "
    "a.created_at, a.updated_at, a.version, a.client_uid";

Annotation annotation_row(const Statement& s) {
  Annotation a;
  a.id = s.int64(0);
  a.case_id = s.int64(1);
  a.slide_id = s.text(2);
  a.geometry = json::parse(s.text(3));
  a.class_name = s.text(4);
  a.class_color = s.text(5);
  a.label = s.text(6);
  a.comment = s.text(7);
  a.author = s.text(8);
  a.created_at = s.text(9);
  a.updated_at = s.text(10);
  a.version = s.int64(11);
  a.client_uid = s.optional_text(12);
  return a;
}

std::optional<Annotation> load_annotation(const Database& db, std::int64_t id) {
  Statement s = db.prepare(std::string("SELECT ") + kAnnotationColumns +
                           " FROM annotations a JOIN users u ON u.id = a.author_id "
                           "WHERE a.id = ?1 AND a.deleted_at IS NULL");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return annotation_row(s);
}

std::optional<KeptAnnotation> load_annotation_by_client_uid(const Database& db, const std::string& client_uid) {
  Statement s = db.prepare(std::string("SELECT ") + kAnnotationColumns +
                           ", a.deleted_at IS NOT NULL FROM annotations a JOIN users u ON u.id = a.author_id "
                           "WHERE a.client_uid = ?1");
  s.bind(1, client_uid);
  if (!s.step()) return std::nullopt;
  return KeptAnnotation{annotation_row(s), s.int64(13) != 0};
}

Annotation insert_annotation(const Database& db, const Annotation& a, const Actor& actor) {
  Statement slide = db.prepare("SELECT 1 FROM case_slides WHERE case_id = ?1 AND slide_id = ?2");
  slide.bind(1, a.case_id).bind(2, a.slide_id);
  if (!slide.step()) not_found("slide " + a.slide_id + " is not part of case " + std::to_string(a.case_id));
  const std::string now = utc_now();
  db.prepare(
        "INSERT INTO annotations (case_id, slide_id, geometry, class_name, class_color, label, comment, author_id, "
        "created_at, updated_at, version, client_uid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10)")
      .bind(1, a.case_id)
      .bind(2, a.slide_id)
      .bind(3, a.geometry.dump())
      .bind(4, a.class_name)
      .bind(5, a.class_color)
      .bind(6, a.label)
      .bind(7, a.comment)
      .bind(8, require_user(db, actor.user, "author"))
      .bind(9, now)
      .bind(10, a.client_uid)
      .run();
  Annotation out = a;
  out.id = db.last_insert_id();
  out.author = actor.user;
  out.created_at = out.updated_at = now;
  out.version = 1;
  write_audit(db, actor, "create", "annotation/" + std::to_string(out.id),
              "case " + std::to_string(a.case_id) + ", slide " + a.slide_id);
  return out;
}

}  // namespace

SqliteRecordStore::SqliteRecordStore(const std::string& path, int connections) : path_(path) {
  auto first = std::make_unique<Database>(path);
  first->migrate(record_migrations());
  idle_.push_back(std::move(first));
  for (int i = 1; i < connections; ++i) idle_.push_back(std::make_unique<Database>(path));
  watcher_ = std::make_unique<Database>(path);
}

std::uint64_t SqliteRecordStore::generation() {
  using namespace std::chrono;
  const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  std::int64_t last = last_poll_ns_.load(std::memory_order_relaxed);
  if (now - last > duration_cast<nanoseconds>(milliseconds(50)).count() &&
      last_poll_ns_.compare_exchange_strong(last, now)) {
    // data_version moves when any other connection commits: our own pool's writes (harmless: rights are
    // recomputed) and other processes' (the reason to look).
    std::lock_guard lock(poll_mutex_);
    Statement s = watcher_->prepare("PRAGMA data_version");
    s.step();
    const std::int64_t v = s.int64(0);
    if (v != seen_data_version_) {
      if (seen_data_version_ >= 0) changed();
      seen_data_version_ = v;
    }
  }
  return RecordStore::generation();
}

SqliteRecordStore::Lease::Lease(SqliteRecordStore& s) : store_(s) {
  std::unique_lock lock(s.mutex_);
  s.returned_.wait(lock, [&] { return !s.idle_.empty(); });
  db_ = std::move(s.idle_.back());
  s.idle_.pop_back();
}

SqliteRecordStore::Lease::~Lease() {
  {
    std::lock_guard lock(store_.mutex_);
    store_.idle_.push_back(std::move(db_));
  }
  store_.returned_.notify_one();
}

void SqliteRecordStore::backup_to(const std::string& out) {
  Lease l(*this);
  l.db().backup_to(out);
}

User SqliteRecordStore::create_user(const std::string& name, const std::string& display_name, Role role,
                                    const std::vector<std::string>& boards, const Actor& actor) {
  if (name.empty() || name.size() > 128 || name.find_first_of(" \t\r\n/") != std::string::npos) {
    throw RecordError(400, "invalid user", "a user name is 1-128 characters without spaces or slashes");
  }
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (user_id(db, name)) throw RecordError(409, "user exists", "a user named '" + name + "' exists already");
  db.prepare("INSERT INTO users (name, display_name, role, created_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, name)
      .bind(2, display_name)
      .bind(3, to_string(role))
      .bind(4, utc_now())
      .run();
  const std::int64_t id = db.last_insert_id();
  for (const auto& b : boards) {
    db.prepare("INSERT OR IGNORE INTO board_members (board_id, user_id) VALUES (?1, ?2)")
        .bind(1, board_id(db, b))
        .bind(2, id)
        .run();
  }
  write_audit(db, actor, "create", "user/" + name, std::string("role ") + to_string(role));
  t.commit();
  changed();
  return User{id, name, display_name, role, boards};
}

std::optional<User> SqliteRecordStore::find_user(const std::string& name) {
  for (auto& u : list_users()) {
    if (u.name == name) return u;
  }
  return std::nullopt;
}

std::vector<User> SqliteRecordStore::list_users() {
  Lease l(*this);
  Statement s = l.db().prepare("SELECT id, name, display_name, role FROM users ORDER BY name");
  std::vector<User> out;
  while (s.step()) {
    User u{s.int64(0), s.text(1), s.text(2), parse_role(s.text(3)).value_or(Role::board), {}};
    u.boards = names(l.db(),
                     "SELECT b.name FROM board_members m JOIN boards b ON b.id = m.board_id WHERE m.user_id = ?1 "
                     "ORDER BY b.name",
                     u.id);
    out.push_back(std::move(u));
  }
  return out;
}

std::int64_t SqliteRecordStore::add_token(const std::string& user, const std::string& label,
                                          const std::vector<std::uint8_t>& hash, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  const auto uid = user_id(db, user);
  if (!uid) not_found("no user named '" + user + "'");
  db.prepare("INSERT INTO tokens (user_id, hash, label, created_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, *uid)
      .bind(2, hash)
      .bind(3, label)
      .bind(4, utc_now())
      .run();
  const std::int64_t id = db.last_insert_id();
  write_audit(db, actor, "create", "token/" + std::to_string(id), "for user " + user);
  t.commit();
  changed();
  return id;
}

void SqliteRecordStore::revoke_token(std::int64_t token_id, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  const int n = db.prepare("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL")
                    .bind(1, utc_now())
                    .bind(2, token_id)
                    .run();
  if (n == 0) not_found("no live token " + std::to_string(token_id));
  write_audit(db, actor, "revoke", "token/" + std::to_string(token_id));
  t.commit();
  changed();
}

std::vector<TokenInfo> SqliteRecordStore::list_tokens(const std::string& user) {
  Lease l(*this);
  Statement s = l.db().prepare(
      "SELECT t.id, u.name, t.label, t.created_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id "
      "WHERE u.name = ?1 ORDER BY t.id");
  s.bind(1, user);
  std::vector<TokenInfo> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.optional_text(4)});
  return out;
}

std::optional<Principal> SqliteRecordStore::principal_for_token(const std::vector<std::uint8_t>& hash) {
  Lease l(*this);
  Statement s = l.db().prepare(
      "SELECT u.id, u.name, u.role, t.id FROM tokens t JOIN users u ON u.id = t.user_id "
      "WHERE t.hash = ?1 AND t.revoked_at IS NULL");
  s.bind(1, hash);
  if (!s.step()) return std::nullopt;
  return Principal{s.int64(0), s.text(1), parse_role(s.text(2)).value_or(Role::board), s.int64(3)};
}

CaseRecord SqliteRecordStore::create_case(const CaseRecord& c, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  {
    Statement dup = db.prepare("SELECT id FROM cases WHERE accession = ?1");
    dup.bind(1, c.accession);
    if (dup.step()) {
      throw RecordError(
          409, "case exists",
          "a case with accession '" + c.accession + "' exists already (case " + std::to_string(dup.int64(0)) + ")");
    }
  }
  std::optional<std::int64_t> referrer;
  if (!c.referrer.empty()) referrer = require_user(db, c.referrer, "referrer");
  json classes = json::array();
  for (const auto& k : c.annotation_classes) classes.push_back(k);
  db.prepare(
        "INSERT INTO cases (accession, patient_ref, specimen, site, clinical_history, question, requested_at, "
        "due_at, status, institution, originating_pathologist, referrer_id, original_report, proposed_treatment, "
        "blinded_first_read, annotation_classes, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)")
      .bind(1, c.accession)
      .bind(2, c.patient_ref)
      .bind(3, c.specimen)
      .bind(4, c.site)
      .bind(5, c.clinical_history)
      .bind(6, c.question)
      .bind(7, c.requested_at)
      .bind(8, c.due_at.empty() ? std::optional<std::string>() : c.due_at)
      .bind(9, c.consultants.empty() ? "requested" : "in_review")
      .bind(10, c.institution)
      .bind(11, c.originating_pathologist)
      .bind(12, referrer)
      .bind(13, c.original_report.dump())
      .bind(14, c.proposed_treatment)
      .bind(15, c.blinded_first_read ? 1 : 0)
      .bind(16, classes.dump())
      .bind(17, utc_now())
      .run();
  const std::int64_t id = db.last_insert_id();
  int position = 0;
  for (const auto& s : c.slides) {
    db.prepare("INSERT INTO case_slides (case_id, slide_id, label, position) VALUES (?1, ?2, ?3, ?4)")
        .bind(1, id)
        .bind(2, s.slide_id)
        .bind(3, s.label)
        .bind(4, position++)
        .run();
  }
  for (const auto& name : c.consultants) {
    Statement who = db.prepare("SELECT id FROM users WHERE name = ?1 AND role = 'consultant'");
    who.bind(1, name);
    if (!who.step()) throw RecordError(422, "not a consultant", "'" + name + "' is not a consultant");
    const std::int64_t uid = who.int64(0);
    db.prepare("INSERT OR IGNORE INTO case_consultants (case_id, user_id) VALUES (?1, ?2)")
        .bind(1, id)
        .bind(2, uid)
        .run();
  }
  for (const auto& b : c.boards) {
    db.prepare("INSERT OR IGNORE INTO case_boards (case_id, board_id) VALUES (?1, ?2)")
        .bind(1, id)
        .bind(2, board_id(db, b))
        .run();
  }
  write_audit(db, actor, "create", "case/" + std::to_string(id), "accession " + c.accession);
  t.commit();
  changed();
  return *load_case(db, id);
}

std::optional<CaseRecord> SqliteRecordStore::get_case(std::int64_t id) {
  Lease l(*this);
  return load_case(l.db(), id);
}

std::vector<CaseRecord> SqliteRecordStore::cases_for(const Principal& who) {
  Lease l(*this);
  const Database& db = l.db();
  std::string where;
  switch (who.role) {
    case Role::admin:
      where = "1";
      break;
    case Role::consultant:
      where = "c.id IN (SELECT case_id FROM case_consultants WHERE user_id = ?1)";
      break;
    case Role::referrer:
      where = "c.referrer_id = ?1";
      break;
    case Role::board:
      where =
          "c.id IN (SELECT cb.case_id FROM case_boards cb JOIN board_members m ON m.board_id = cb.board_id "
          "WHERE m.user_id = ?1)";
      break;
  }
  Statement s = db.prepare(std::string("SELECT ") + kCaseColumns +
                           " FROM cases c LEFT JOIN users u ON u.id = c.referrer_id WHERE " + where +
                           " ORDER BY c.due_at IS NULL, c.due_at, c.id");
  if (who.role != Role::admin) s.bind(1, who.user_id);
  std::vector<CaseRecord> out;
  while (s.step()) out.push_back(case_row(db, s));
  return out;
}

CaseRelation SqliteRecordStore::relation(const Principal& who, std::int64_t case_id) {
  Lease l(*this);
  Statement s = l.db().prepare(
      "SELECT "
      "EXISTS (SELECT 1 FROM case_consultants WHERE case_id = c.id AND user_id = ?2), "
      "c.referrer_id IS ?2, "
      "EXISTS (SELECT 1 FROM case_boards cb JOIN board_members m ON m.board_id = cb.board_id "
      "        WHERE cb.case_id = c.id AND m.user_id = ?2), "
      "c.status = 'signed_out' "
      "FROM cases c WHERE c.id = ?1");
  s.bind(1, case_id).bind(2, who.user_id);
  if (!s.step()) not_found("no case " + std::to_string(case_id));
  return CaseRelation{s.int64(0) != 0, s.int64(1) != 0, s.int64(2) != 0, s.int64(3) != 0};
}

std::vector<std::int64_t> SqliteRecordStore::cases_with_slide(const std::string& slide_id) {
  Lease l(*this);
  Statement s = l.db().prepare("SELECT case_id FROM case_slides WHERE slide_id = ?1 ORDER BY case_id");
  s.bind(1, slide_id);
  std::vector<std::int64_t> out;
  while (s.step()) out.push_back(s.int64(0));
  return out;
}

void SqliteRecordStore::assign(std::int64_t case_id, const std::string& consultant, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  Statement who = db.prepare("SELECT id FROM users WHERE name = ?1 AND role = 'consultant'");
  who.bind(1, consultant);
  if (!who.step()) throw RecordError(422, "not a consultant", "'" + consultant + "' is not a consultant");
  db.prepare("INSERT OR IGNORE INTO case_consultants (case_id, user_id) VALUES (?1, ?2)")
      .bind(1, case_id)
      .bind(2, who.int64(0))
      .run();
  db.prepare("UPDATE cases SET status = 'in_review' WHERE id = ?1 AND status = 'requested'").bind(1, case_id).run();
  write_audit(db, actor, "assign", "case/" + std::to_string(case_id), "consultant " + consultant);
  t.commit();
  changed();
}

void SqliteRecordStore::share(std::int64_t case_id, const std::string& board, const Actor& actor) {
  if (board.empty()) throw RecordError(400, "invalid board", "a board name is required");
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  db.prepare("INSERT OR IGNORE INTO case_boards (case_id, board_id) VALUES (?1, ?2)")
      .bind(1, case_id)
      .bind(2, board_id(db, board))
      .run();
  write_audit(db, actor, "share", "case/" + std::to_string(case_id), "board " + board);
  t.commit();
  changed();
}

void SqliteRecordStore::attach_slide(std::int64_t case_id, const CaseSlide& slide, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  Statement pos = db.prepare("SELECT COALESCE(MAX(position) + 1, 0) FROM case_slides WHERE case_id = ?1");
  pos.bind(1, case_id);
  pos.step();
  db.prepare("INSERT OR IGNORE INTO case_slides (case_id, slide_id, label, position) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, case_id)
      .bind(2, slide.slide_id)
      .bind(3, slide.label)
      .bind(4, pos.int64(0))
      .run();
  write_audit(db, actor, "attach", "case/" + std::to_string(case_id), "slide " + slide.slide_id);
  t.commit();
  changed();
}

void SqliteRecordStore::set_status(std::int64_t case_id, const std::string& status, const Actor& actor) {
  if (status != "requested" && status != "in_review") {
    throw RecordError(400, "invalid status",
                      "status can be set to requested or in_review; signed_out comes from signing the report");
  }
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  const auto c = load_case(db, case_id);
  if (!c) not_found("no case " + std::to_string(case_id));
  if (c->status == "signed_out") throw RecordError(409, "signed out", "the case is signed out");
  db.prepare("UPDATE cases SET status = ?1 WHERE id = ?2").bind(1, status).bind(2, case_id).run();
  write_audit(db, actor, "update", "case/" + std::to_string(case_id), "status " + status);
  t.commit();
  changed();
}

ConsultReport SqliteRecordStore::report(std::int64_t case_id) {
  Lease l(*this);
  if (!case_exists(l.db(), case_id)) not_found("no case " + std::to_string(case_id));
  return load_report(l.db(), case_id);
}

ConsultReport SqliteRecordStore::save_report(std::int64_t case_id, const json& update,
                                             std::optional<std::int64_t> expected_version, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  ConsultReport r = load_report(db, case_id);
  if (r.status == "signed") {
    throw RecordError(409, "report signed", "the consult report is signed; add an addendum instead");
  }
  if (expected_version && *expected_version != r.version) {
    throw RecordError(412, "version conflict",
                      "the report is at version " + std::to_string(r.version) + ", the update was based on version " +
                          std::to_string(*expected_version));
  }
  apply_consult_update(r, update);
  const std::string now = utc_now();
  db.prepare(
        "INSERT INTO consult_reports (case_id, fields, free_text, discrepancy, additional_studies, trial_comments, "
        "annotation_refs, initial_impression, status, version, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'draft', 1, ?9) "
        "ON CONFLICT (case_id) DO UPDATE SET fields = ?2, free_text = ?3, discrepancy = ?4, "
        "additional_studies = ?5, trial_comments = ?6, annotation_refs = ?7, initial_impression = ?8, "
        "version = version + 1, updated_at = ?9")
      .bind(1, case_id)
      .bind(2, r.fields.dump())
      .bind(3, r.free_text)
      .bind(4, r.discrepancy)
      .bind(5, r.additional_studies)
      .bind(6, r.trial_comments)
      .bind(7, json(r.annotation_refs).dump())
      .bind(8, r.initial_impression ? std::optional<std::string>(r.initial_impression->dump()) : std::nullopt)
      .bind(9, now)
      .run();
  db.prepare("UPDATE cases SET status = 'in_review' WHERE id = ?1 AND status = 'requested'").bind(1, case_id).run();
  write_audit(db, actor, "update", "case/" + std::to_string(case_id) + "/report",
              "draft version " + std::to_string(r.version + 1));
  ConsultReport out = load_report(db, case_id);
  t.commit();
  return out;
}

ConsultReport SqliteRecordStore::sign_report(std::int64_t case_id, std::optional<std::int64_t> expected_version,
                                             const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  ConsultReport r = load_report(db, case_id);
  if (r.status == "signed") throw RecordError(409, "report signed", "the consult report is signed already");
  if (r.version == 0) throw RecordError(422, "empty report", "there is no draft to sign");
  if (expected_version && *expected_version != r.version) {
    throw RecordError(412, "version conflict",
                      "the report is at version " + std::to_string(r.version) + ", the sign-out was based on version " +
                          std::to_string(*expected_version));
  }
  if (!r.discrepancy) {
    throw RecordError(422, "discrepancy missing",
                      "choose the discrepancy category (concordant, minor or major) before signing");
  }
  const std::string now = utc_now();
  db.prepare("UPDATE consult_reports SET status = 'signed', signed_by = ?1, signed_at = ?2 WHERE case_id = ?3")
      .bind(1, require_user(db, actor.user, "signer"))
      .bind(2, now)
      .bind(3, case_id)
      .run();
  db.prepare("UPDATE cases SET status = 'signed_out', signed_out_at = ?1 WHERE id = ?2")
      .bind(1, now)
      .bind(2, case_id)
      .run();
  write_audit(db, actor, "sign", "case/" + std::to_string(case_id) + "/report", "discrepancy " + *r.discrepancy);
  ConsultReport out = load_report(db, case_id);
  t.commit();
  changed();  // referrers and boards may now read the report
  return out;
}

ConsultReport SqliteRecordStore::add_addendum(std::int64_t case_id, const std::string& text, const Actor& actor) {
  if (text.empty()) throw RecordError(400, "empty addendum", "an addendum needs text");
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  if (!case_exists(db, case_id)) not_found("no case " + std::to_string(case_id));
  if (load_report(db, case_id).status != "signed") {
    throw RecordError(409, "report not signed", "addenda follow a signed report; edit the draft instead");
  }
  db.prepare("INSERT INTO addenda (case_id, text, author_id, signed_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, case_id)
      .bind(2, text)
      .bind(3, require_user(db, actor.user, "author"))
      .bind(4, utc_now())
      .run();
  write_audit(db, actor, "sign",
              "case/" + std::to_string(case_id) + "/addendum/" + std::to_string(db.last_insert_id()));
  ConsultReport out = load_report(db, case_id);
  t.commit();
  return out;
}

std::vector<Annotation> SqliteRecordStore::annotations(std::int64_t case_id, const std::string& slide_id) {
  Lease l(*this);
  Statement s = l.db().prepare(std::string("SELECT ") + kAnnotationColumns +
                               " FROM annotations a JOIN users u ON u.id = a.author_id "
                               "WHERE a.case_id = ?1 AND a.slide_id = ?2 AND a.deleted_at IS NULL ORDER BY a.id");
  s.bind(1, case_id).bind(2, slide_id);
  std::vector<Annotation> out;
  while (s.step()) out.push_back(annotation_row(s));
  return out;
}

std::optional<Annotation> SqliteRecordStore::annotation(std::int64_t id) {
  Lease l(*this);
  return load_annotation(l.db(), id);
}

AnnotationCreation SqliteRecordStore::create_annotation(const Annotation& a, const Actor& actor) {
  Lease l(*this);
  // BEGIN IMMEDIATE: two sends of one create take turns, and the second finds what the first made.
  Transaction t(l.db());
  if (a.client_uid) {
    if (auto kept = load_annotation_by_client_uid(l.db(), *a.client_uid)) {
      check_annotation_replay(kept->annotation, kept->deleted, a.case_id, a.slide_id);
      return {std::move(kept->annotation), false};  // nothing written: the transaction rolls back
    }
  }
  Annotation out = insert_annotation(l.db(), a, actor);
  t.commit();
  return {std::move(out), true};
}

std::optional<KeptAnnotation> SqliteRecordStore::annotation_by_client_uid(const std::string& client_uid) {
  Lease l(*this);
  return load_annotation_by_client_uid(l.db(), client_uid);
}

Annotation SqliteRecordStore::update_annotation(const Annotation& a, std::int64_t expected_version,
                                                const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  const int n = db.prepare(
                      "UPDATE annotations SET geometry = ?1, class_name = ?2, class_color = ?3, label = ?4, "
                      "comment = ?5, updated_at = ?6, version = version + 1 "
                      "WHERE id = ?7 AND version = ?8 AND deleted_at IS NULL")
                    .bind(1, a.geometry.dump())
                    .bind(2, a.class_name)
                    .bind(3, a.class_color)
                    .bind(4, a.label)
                    .bind(5, a.comment)
                    .bind(6, utc_now())
                    .bind(7, a.id)
                    .bind(8, expected_version)
                    .run();
  if (n == 0) {
    const auto current = load_annotation(db, a.id);
    if (!current) not_found("no annotation " + std::to_string(a.id));
    throw RecordError(412, "version conflict",
                      "annotation " + std::to_string(a.id) + " is at version " + std::to_string(current->version) +
                          ", the update was based on version " + std::to_string(expected_version));
  }
  write_audit(db, actor, "update", "annotation/" + std::to_string(a.id),
              "version " + std::to_string(expected_version + 1));
  Annotation out = *load_annotation(db, a.id);
  t.commit();
  return out;
}

void SqliteRecordStore::delete_annotation(std::int64_t id, std::int64_t expected_version, const Actor& actor) {
  Lease l(*this);
  const Database& db = l.db();
  Transaction t(db);
  // Kept, marked deleted: the record of what was drawn stays.
  const int n = db.prepare(
                      "UPDATE annotations SET deleted_at = ?1, version = version + 1 "
                      "WHERE id = ?2 AND version = ?3 AND deleted_at IS NULL")
                    .bind(1, utc_now())
                    .bind(2, id)
                    .bind(3, expected_version)
                    .run();
  if (n == 0) {
    const auto current = load_annotation(db, id);
    if (!current) not_found("no annotation " + std::to_string(id));
    throw RecordError(412, "version conflict",
                      "annotation " + std::to_string(id) + " is at version " + std::to_string(current->version) +
                          ", the delete was based on version " + std::to_string(expected_version));
  }
  write_audit(db, actor, "delete", "annotation/" + std::to_string(id));
  t.commit();
}

std::vector<Annotation> SqliteRecordStore::import_annotations(const std::vector<Annotation>& all, const Actor& actor) {
  Lease l(*this);
  Transaction t(l.db());
  std::vector<Annotation> out;
  out.reserve(all.size());
  for (const auto& a : all) out.push_back(insert_annotation(l.db(), a, actor));
  t.commit();
  return out;
}

void SqliteRecordStore::audit(const AuditEntry& e) {
  Lease l(*this);
  write_audit(l.db(), Actor{e.user, e.address}, e.action, e.resource, e.detail);
}

std::vector<AuditEntry> SqliteRecordStore::audit_entries(const AuditQuery& q) {
  Lease l(*this);
  std::string sql = "SELECT id, at, user, address, action, resource, detail FROM audit WHERE 1";
  std::vector<std::string> params;
  const auto add = [&](const std::optional<std::string>& v, const char* clause) {
    if (!v) return;
    params.push_back(*v);
    sql += std::string(" AND ") + clause + " ?" + std::to_string(params.size());
  };
  add(q.user, "user =");
  add(q.action, "action =");
  if (q.resource_prefix) {
    params.push_back(*q.resource_prefix);
    sql +=
        " AND substr(resource, 1, length(?" + std::to_string(params.size()) + ")) = ?" + std::to_string(params.size());
  }
  add(q.since, "at >=");
  add(q.until, "at <");
  sql += " ORDER BY id DESC LIMIT " + std::to_string(std::clamp(q.limit, 1, 100000));
  Statement s = l.db().prepare(sql);
  for (std::size_t i = 0; i < params.size(); ++i) s.bind(static_cast<int>(i + 1), params[i]);
  std::vector<AuditEntry> out;
  while (s.step()) out.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6)});
  return out;
}

}  // namespace reread
