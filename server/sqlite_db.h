// SQLite, owned: one connection per Database, statements that finalize themselves, transactions that
// roll back unless committed, forward-only numbered migrations and the online backup API.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reread {

// What SQLite said, with the statement or operation it said it about.
class DbError : public std::runtime_error {
 public:
  DbError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  // A UNIQUE, FOREIGN KEY, CHECK or trigger constraint refused the change.
  bool constraint() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

 private:
  int code_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Binds parameters ?1, ?2, ... in order.
  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, int v) { return bind(index, static_cast<std::int64_t>(v)); }
  Statement& bind(int index, double v);
  Statement& bind(int index, std::string_view v);
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const std::vector<std::uint8_t>& blob);
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& v) {
    return v ? bind(index, *v) : bind_null(index);
  }

  // Steps once: true while a row is available.
  bool step();
  // Runs to completion (INSERT/UPDATE/DELETE); returns the rows changed.
  int run();
  void reset();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::optional<std::int64_t> optional_int64(int col) const;
  std::vector<std::uint8_t> blob(int col) const;

 private:
  [[noreturn]] void fail(const std::string& doing, int rc) const;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating) the file with WAL, foreign keys and a busy timeout. Throws DbError.
  explicit Database(const std::string& path);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Statement prepare(std::string_view sql) const { return Statement(db_.get(), sql); }
  void exec(std::string_view sql) const;
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }
  const std::string& path() const { return path_; }
  // Copies the live database into `out` with the online backup API; `out` appears only when complete.
  void backup_to(const std::string& out) const;
  // The newest schema version applied (PRAGMA user_version).
  int schema_version() const;
  // Applies migrations[v] for every v from the current version on, each in its own transaction that
  // also advances the version: forward only; a database newer than this program is refused.
  void migrate(const std::vector<std::string>& migrations) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when left without commit() (an exception on the way out).
class Transaction {
 public:
  explicit Transaction(const Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  const Database& db_;
  bool done_ = false;
};

}  // namespace reread
