// RecordStore: the one storage interface the server's record routes call (SQLite today; another
// database would implement the same). Every change is one transaction that also appends its audit entry.
// Errors the client caused are RecordError (with their HTTP status); anything else is a server fault.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "access_policy.h"
#include "case_record.h"

namespace reread {

// Who is acting, for the audit log.
struct Actor {
  std::string user;  // user name; empty for the command line
  std::string address;
};

struct TokenInfo {
  std::int64_t id = 0;
  std::string user, label, created_at;
  std::optional<std::string> revoked_at;
};

struct AuditQuery {
  std::optional<std::string> user, action, resource_prefix, since, until;
  int limit = 1000;
};

// What create_annotation did.
struct AnnotationCreation {
  Annotation annotation;  // as stored now
  bool created = true;    // false: its client_uid named an annotation stored already, and nothing was written
};

// An annotation as the record keeps it, deleted ones included.
struct KeptAnnotation {
  Annotation annotation;
  bool deleted = false;
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // Users and tokens.
  virtual User create_user(const std::string& name, const std::string& display_name, Role role,
                           const std::vector<std::string>& boards, const Actor& actor) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
  virtual std::vector<User> list_users() = 0;
  virtual std::int64_t add_token(const std::string& user, const std::string& label,
                                 const std::vector<std::uint8_t>& hash, const Actor& actor) = 0;
  virtual void revoke_token(std::int64_t token_id, const Actor& actor) = 0;
  virtual std::vector<TokenInfo> list_tokens(const std::string& user) = 0;
  virtual std::optional<Principal> principal_for_token(const std::vector<std::uint8_t>& hash) = 0;

  // Cases.
  virtual CaseRecord create_case(const CaseRecord& c, const Actor& actor) = 0;
  virtual std::optional<CaseRecord> get_case(std::int64_t id) = 0;
  virtual std::vector<CaseRecord> cases_for(const Principal& who) = 0;
  virtual CaseRelation relation(const Principal& who, std::int64_t case_id) = 0;
  // The IDs of the cases that hold a slide.
  virtual std::vector<std::int64_t> cases_with_slide(const std::string& slide_id) = 0;
  virtual void assign(std::int64_t case_id, const std::string& consultant, const Actor& actor) = 0;
  virtual void share(std::int64_t case_id, const std::string& board, const Actor& actor) = 0;
  virtual void attach_slide(std::int64_t case_id, const CaseSlide& slide, const Actor& actor) = 0;
  virtual void set_status(std::int64_t case_id, const std::string& status, const Actor& actor) = 0;

  // The consult report.
  virtual ConsultReport report(std::int64_t case_id) = 0;
  // Applies a draft update based on `expected_version` (412 when stale, 409 once signed).
  virtual ConsultReport save_report(std::int64_t case_id, const nlohmann::json& update,
                                    std::optional<std::int64_t> expected_version, const Actor& actor) = 0;
  virtual ConsultReport sign_report(std::int64_t case_id, std::optional<std::int64_t> expected_version,
                                    const Actor& actor) = 0;
  virtual ConsultReport add_addendum(std::int64_t case_id, const std::string& text, const Actor& actor) = 0;

  // Annotations.
  virtual std::vector<Annotation> annotations(std::int64_t case_id, const std::string& slide_id) = 0;
  virtual std::optional<Annotation> annotation(std::int64_t id) = 0;
  // Creates the annotation, audited, unless a.client_uid names one the record holds already: then, in the
  // same transaction, creates nothing and returns that one as it is now (created = false) if it lies on
  // the same case and slide, or throws what check_annotation_replay decides (409 another case or slide,
  // 410 deleted).
  virtual AnnotationCreation create_annotation(const Annotation& a, const Actor& actor) = 0;
  // The annotation created with this client_uid, deleted or not.
  virtual std::optional<KeptAnnotation> annotation_by_client_uid(const std::string& client_uid) = 0;
  // Replaces the annotation if it is still at `expected_version`; otherwise RecordError 412 (the
  // current annotation can then be read) or 404. The client_uid stays as created.
  virtual Annotation update_annotation(const Annotation& a, std::int64_t expected_version, const Actor& actor) = 0;
  virtual void delete_annotation(std::int64_t id, std::int64_t expected_version, const Actor& actor) = 0;
  // All or nothing.
  virtual std::vector<Annotation> import_annotations(const std::vector<Annotation>& all, const Actor& actor) = 0;

  // The audit log: append-only.
  virtual void audit(const AuditEntry& e) = 0;
  virtual std::vector<AuditEntry> audit_entries(const AuditQuery& q) = 0;

  // Bumped by every change to users, tokens or who may see which case (and, within a moment, by changes
  // other processes make to the record, such as `case import`): caches of rights compare it.
  virtual std::uint64_t generation() { return generation_.load(std::memory_order_acquire); }

 protected:
  void changed() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace reread
