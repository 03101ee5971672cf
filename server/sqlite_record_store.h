// RecordStore on an embedded SQLite file (WAL): a small pool of connections so readers run side by
// side; writers take turns through BEGIN IMMEDIATE and the busy timeout.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "record_store.h"
#include "sqlite_db.h"

namespace reread {

class SqliteRecordStore : public RecordStore {
 public:
  // Opens or creates `path` and migrates it to the current schema. Throws DbError.
  explicit SqliteRecordStore(const std::string& path, int connections = 4);
  void backup_to(const std::string& out);

  User create_user(const std::string& name, const std::string& display_name, Role role,
                   const std::vector<std::string>& boards, const Actor& actor) override;
  std::optional<User> find_user(const std::string& name) override;
  std::vector<User> list_users() override;
  std::int64_t add_token(const std::string& user, const std::string& label, const std::vector<std::uint8_t>& hash,
                         const Actor& actor) override;
  void revoke_token(std::int64_t token_id, const Actor& actor) override;
  std::vector<TokenInfo> list_tokens(const std::string& user) override;
  std::optional<Principal> principal_for_token(const std::vector<std::uint8_t>& hash) override;

  CaseRecord create_case(const CaseRecord& c, const Actor& actor) override;
  std::optional<CaseRecord> get_case(std::int64_t id) override;
  std::vector<CaseRecord> cases_for(const Principal& who) override;
  CaseRelation relation(const Principal& who, std::int64_t case_id) override;
  std::vector<std::int64_t> cases_with_slide(const std::string& slide_id) override;
  void assign(std::int64_t case_id, const std::string& consultant, const Actor& actor) override;
  void share(std::int64_t case_id, const std::string& board, const Actor& actor) override;
  void attach_slide(std::int64_t case_id, const CaseSlide& slide, const Actor& actor) override;
  void set_status(std::int64_t case_id, const std::string& status, const Actor& actor) override;

  ConsultReport report(std::int64_t case_id) override;
  ConsultReport save_report(std::int64_t case_id, const nlohmann::json& update,
                            std::optional<std::int64_t> expected_version, const Actor& actor) override;
  ConsultReport sign_report(std::int64_t case_id, std::optional<std::int64_t> expected_version,
                            const Actor& actor) override;
  ConsultReport add_addendum(std::int64_t case_id, const std::string& text, const Actor& actor) override;

  std::vector<Annotation> annotations(std::int64_t case_id, const std::string& slide_id) override;
  std::optional<Annotation> annotation(std::int64_t id) override;
  AnnotationCreation create_annotation(const Annotation& a, const Actor& actor) override;
  std::optional<KeptAnnotation> annotation_by_client_uid(const std::string& client_uid) override;
  Annotation update_annotation(const Annotation& a, std::int64_t expected_version, const Actor& actor) override;
  void delete_annotation(std::int64_t id, std::int64_t expected_version, const Actor& actor) override;
  std::vector<Annotation> import_annotations(const std::vector<Annotation>& all, const Actor& actor) override;

  void audit(const AuditEntry& e) override;
  std::vector<AuditEntry> audit_entries(const AuditQuery& q) override;
  // Also notices commits by other processes (PRAGMA data_version), looking at most every 50 ms.
  std::uint64_t generation() override;

 private:
  // One connection, lent to one thread at a time.
  class Lease {
   public:
    explicit Lease(SqliteRecordStore& s);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const Database& db() const { return *db_; }

   private:
    SqliteRecordStore& store_;
    std::unique_ptr<Database> db_;
  };

  std::string path_;
  std::mutex mutex_;  // guards idle_
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Database>> idle_;

  std::atomic<std::int64_t> last_poll_ns_{0};
  std::mutex poll_mutex_;  // guards the watcher connection and the version it last saw
  std::unique_ptr<Database> watcher_;
  std::int64_t seen_data_version_ = -1;
};

}  // namespace reread
