// SQLite, owned: connection setup, statements, transactions, migrations, online backup.
#include "sqlite_db.h"

#include <filesystem>
#include <limits>

namespace reread {

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail("prepare '" + std::string(sql.substr(0, 80)) + "'", rc);
}

Statement::Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::fail(const std::string& doing, int rc) const {
  const char* sql = stmt_ != nullptr ? sqlite3_sql(stmt_) : nullptr;
  std::string what = "SQLite: " + doing + ": " + sqlite3_errmsg(db_);
  if (sql != nullptr) what += " [" + std::string(sql).substr(0, 80) + "]";
  throw DbError(what, sqlite3_extended_errcode(db_) != 0 ? sqlite3_extended_errcode(db_) : rc);
}

Statement& Statement::bind(int index, std::int64_t v) {
  if (const int rc = sqlite3_bind_int64(stmt_, index, v); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, double v) {
  if (const int rc = sqlite3_bind_double(stmt_, index, v); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, std::string_view v) {
  if (const int rc = sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      rc != SQLITE_OK) {
    fail("bind", rc);
  }
  return *this;
}

Statement& Statement::bind(int index, const std::vector<std::uint8_t>& blob) {
  if (const int rc = sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT); rc != SQLITE_OK) {
    fail("bind", rc);
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail("step", rc);
}

int Statement::run() {
  while (step()) {
  }
  return sqlite3_changes(db_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> Statement::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> Statement::optional_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

std::vector<std::uint8_t> Statement::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  return p == nullptr ? std::vector<std::uint8_t>()
                      : std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(stmt_, col));
}

Database::Database(const std::string& path) : path_(path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    throw DbError("SQLite: open " + path + ": " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)), rc);
  }
  sqlite3_extended_result_codes(raw, 1);
  // Writers wait for each other rather than fail; readers never wait for writers (WAL).
  sqlite3_busy_timeout(raw, 10000);
  exec("PRAGMA journal_mode = WAL");
  exec("PRAGMA synchronous = NORMAL");  // durable across process crashes (WAL); an OS crash may lose the last commit
  exec("PRAGMA foreign_keys = ON");
}

Database::~Database() = default;

void Database::exec(std::string_view sql) const {
  char* message = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = "SQLite: " + s.substr(0, 80) + ": " + (message != nullptr ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    throw DbError(what, sqlite3_extended_errcode(db_.get()));
  }
}

int Database::schema_version() const {
  Statement s = prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.int64(0));
}

void Database::migrate(const std::vector<std::string>& migrations) const {
  const int current = schema_version();
  if (current > static_cast<int>(migrations.size())) {
    throw DbError("database " + path_ + " has schema version " + std::to_string(current) +
                      ", newer than this program's " + std::to_string(migrations.size()),
                  SQLITE_ERROR);
  }
  for (auto v = static_cast<std::size_t>(current); v < migrations.size(); ++v) {
    Transaction t(*this);
    exec(migrations[v]);
    exec("PRAGMA user_version = " + std::to_string(v + 1));
    t.commit();
  }
}

void Database::backup_to(const std::string& out) const {
  const std::string partial = out + ".partial";
  std::filesystem::remove(partial);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(partial.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, Closer> dest(raw);
  if (rc != SQLITE_OK) throw DbError("SQLite: backup: cannot create " + partial, rc);
  sqlite3_backup* b = sqlite3_backup_init(raw, "main", db_.get(), "main");
  if (b == nullptr) throw DbError(std::string("SQLite: backup: ") + sqlite3_errmsg(raw), sqlite3_errcode(raw));
  // All pages in one step: a consistent snapshot even while other connections write.
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    dest.reset();
    std::filesystem::remove(partial);
    throw DbError(std::string("SQLite: backup to ") + out + ": " + sqlite3_errstr(rc), rc);
  }
  dest.reset();
  std::filesystem::rename(partial, out);
}

Transaction::Transaction(const Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // nothing more can be done on the way out; the connection rolls back on close
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace reread
