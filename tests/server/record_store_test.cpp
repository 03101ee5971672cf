// The record's store on a real SQLite file, no HTTP: migrations, the append-only audit log, signed reports
// that cannot change, all-or-nothing imports, online backup under load, and the report comparison.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "case_record.h"
#include "record_fixtures.h"
#include "record_schema.h"
#include "sqlite_db.h"
#include "sqlite_record_store.h"
#include "test_environment.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const Actor kAdmin{"admin", "127.0.0.1"};
const Actor kConsultant{"consultant", "127.0.0.1"};

// One integer a query answers.
std::int64_t scalar(const Database& db, const std::string& sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step()) << sql;
  return s.int64(0);
}

std::string text_of(const Database& db, const std::string& sql) {
  Statement s = db.prepare(sql);
  EXPECT_TRUE(s.step()) << sql;
  return s.text(0);
}

// The DbError a raw statement raises; a test failure when SQLite lets it through.
DbError raw_refusal(const Database& db, const std::string& sql) {
  try {
    db.exec(sql);
  } catch (const DbError& e) {
    return e;
  }
  ADD_FAILURE() << "SQLite accepted: " << sql;
  return DbError("accepted", 0);
}

AuditQuery audit_query(std::optional<std::string> user, std::optional<std::string> action,
                       std::optional<std::string> resource_prefix = std::nullopt) {
  AuditQuery q;
  q.user = std::move(user);
  q.action = std::move(action);
  q.resource_prefix = std::move(resource_prefix);
  return q;
}

// The RecordError a call throws, with its status; a test failure when it does not throw.
template <typename F>
int record_error_status(F&& f, const std::string& what) {
  try {
    f();
  } catch (const RecordError& e) {
    return e.status();
  }
  ADD_FAILURE() << what << ": expected a RecordError";
  return 0;
}

json original_report() { return test::sample_original_report(); }

// A store in a fresh folder with a consultant, an admin and one case of two slides assigned to the consultant.
class RecordStoreFile : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<SqliteRecordStore>(path().string());
    store_->create_user("admin", "Admin", Role::admin, {}, {"", "command line"});
    store_->create_user("consultant", "Dr Consultant", Role::consultant, {}, {"", "command line"});
    case_id_ = new_case("S24-0001");
  }
  fs::path path() const { return dir_ / "reread.db"; }

  std::int64_t new_case(const std::string& accession) {
    CaseRecord c;
    c.accession = accession;
    c.patient_ref = "patient-" + accession;
    c.question = "Is the grade right?";
    c.requested_at = "2024-03-01";
    c.original_report = original_report();
    c.slides = {{"slide-1", "A1 H&E"}, {"slide-2", "A1 ER"}};
    c.consultants = {"consultant"};
    return store_->create_case(c, kAdmin).id;
  }

  Annotation box(std::int64_t case_id, const std::string& slide, double x) const {
    Annotation a;
    a.case_id = case_id;
    a.slide_id = slide;
    a.geometry = {{"type", "Polygon"},
                  {"coordinates", json::array({json::array({json::array({x, 0}), json::array({x + 10, 0}),
                                                            json::array({x + 10, 10}), json::array({x, 0})})})}};
    a.class_name = "Tumor";
    a.class_color = "#c80000";
    return a;
  }

  test::TempDir dir_;
  std::unique_ptr<SqliteRecordStore> store_;
  std::int64_t case_id_ = 0;
};

TEST_F(RecordStoreFile, migrates_the_schema_on_open_and_reopening_changes_nothing) {
  const int current = static_cast<int>(record_migrations().size());
  {
    const Database db(path().string());
    EXPECT_EQ(db.schema_version(), current);
    EXPECT_EQ(scalar(db,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                     "('users', 'tokens', 'cases', 'consult_reports', 'addenda', 'annotations', 'audit')"),
              7);
  }
  store_.reset();
  store_ = std::make_unique<SqliteRecordStore>(path().string());  // reopen: no migration runs twice
  const Database db(path().string());
  EXPECT_EQ(db.schema_version(), current);
  EXPECT_EQ(store_->list_users().size(), 2u) << "reopening kept the users";
  ASSERT_TRUE(store_->get_case(case_id_).has_value()) << "reopening kept the case";
  EXPECT_NO_THROW(db.migrate(record_migrations())) << "migrating an up-to-date database is a no-op";
  EXPECT_EQ(db.schema_version(), current);
}

TEST_F(RecordStoreFile, refuses_a_database_newer_than_the_program) {
  store_.reset();
  {
    const Database db(path().string());
    db.exec("PRAGMA user_version = " + std::to_string(record_migrations().size() + 1));
  }
  try {
    SqliteRecordStore newer(path().string());
    FAIL() << "a database of a newer schema was opened";
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST_F(RecordStoreFile, connections_use_wal_and_enforce_foreign_keys) {
  const Database db(path().string());
  EXPECT_EQ(text_of(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(scalar(db, "PRAGMA foreign_keys"), 1);
  const DbError e = raw_refusal(db,
                                "INSERT INTO annotations (case_id, slide_id, geometry, author_id, created_at, "
                                "updated_at) VALUES (999, 'slide-1', '{}', 1, 'now', 'now')");
  EXPECT_TRUE(e.constraint()) << e.what();
}

TEST_F(RecordStoreFile, the_audit_log_refuses_update_and_delete_even_through_raw_sql) {
  store_->audit({0, "", "consultant", "10.0.0.7", "read", "case/1", "opened"});
  const Database db(path().string());
  const std::int64_t rows = scalar(db, "SELECT count(*) FROM audit");
  ASSERT_GE(rows, 4);  // two users, a case and the read

  for (const std::string sql :
       {"UPDATE audit SET user = 'someone-else' WHERE action = 'read'", "UPDATE audit SET detail = ''",
        "DELETE FROM audit WHERE action = 'read'", "DELETE FROM audit"}) {
    const DbError e = raw_refusal(db, sql);
    EXPECT_TRUE(e.constraint()) << sql << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << sql << ": " << e.what();
  }
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM audit"), rows);
  const auto reads = store_->audit_entries(audit_query("consultant", "read"));
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].address, "10.0.0.7");
  EXPECT_EQ(reads[0].resource, "case/1");
}

TEST_F(RecordStoreFile, a_signed_report_never_changes_and_only_signed_addenda_follow_it) {
  EXPECT_EQ(record_error_status([&] { store_->add_addendum(case_id_, "too early", kConsultant); }, "addendum on draft"),
            409);
  const json draft = {{"fields", {{"grade", {{"verdict", "revised"}, {"value", "G3"}}}}}, {"discrepancy", "major"}};
  EXPECT_EQ(store_->save_report(case_id_, draft, 0, kConsultant).version, 1);
  const ConsultReport signed_report = store_->sign_report(case_id_, 1, kConsultant);
  EXPECT_EQ(signed_report.status, "signed");
  EXPECT_EQ(signed_report.signed_by, "consultant");
  EXPECT_TRUE(signed_report.signed_at.has_value());
  EXPECT_EQ(store_->get_case(case_id_)->status, "signed_out");

  EXPECT_EQ(record_error_status(
                [&] {
                  store_->save_report(case_id_, {{"free_text", "x"}}, 1, kConsultant);
                },
                "save after sign"),
            409);
  EXPECT_EQ(record_error_status([&] { store_->sign_report(case_id_, std::nullopt, kConsultant); }, "sign twice"), 409);

  const Database db(path().string());
  for (const std::string sql : {"UPDATE consult_reports SET fields = '{}'",
                                "UPDATE consult_reports SET status = 'draft'", "DELETE FROM consult_reports"}) {
    const DbError e = raw_refusal(db, sql);
    EXPECT_TRUE(e.constraint()) << sql << ": " << e.what();
  }
  EXPECT_EQ(store_->report(case_id_).fields["grade"]["value"], "G3");

  store_->add_addendum(case_id_, "ER repeated on block A2: positive.", kConsultant);
  const ConsultReport after = store_->add_addendum(case_id_, "HER2 FISH: not amplified.", kConsultant);
  ASSERT_EQ(after.addenda.size(), 2u);
  for (const auto& a : after.addenda) {
    EXPECT_EQ(a.author, "consultant");
    EXPECT_FALSE(a.signed_at.empty()) << "addendum " << a.id << " is not signed";
  }
  EXPECT_LT(after.addenda[0].id, after.addenda[1].id);
  for (const std::string sql : {"UPDATE addenda SET text = 'rewritten'", "DELETE FROM addenda"}) {
    const DbError e = raw_refusal(db, sql);
    EXPECT_TRUE(e.constraint()) << sql << ": " << e.what();
  }
  EXPECT_EQ(store_->report(case_id_).addenda[0].text, "ER repeated on block A2: positive.");
}

TEST_F(RecordStoreFile, an_import_with_one_bad_row_leaves_nothing_behind) {
  const std::vector<Annotation> rows = {box(case_id_, "slide-1", 0), box(case_id_, "slide-2", 100),
                                        box(case_id_, "slide-not-in-case", 200), box(case_id_, "slide-1", 300)};
  EXPECT_EQ(record_error_status([&] { store_->import_annotations(rows, kConsultant); }, "import"), 404);
  EXPECT_TRUE(store_->annotations(case_id_, "slide-1").empty());
  EXPECT_TRUE(store_->annotations(case_id_, "slide-2").empty());
  EXPECT_TRUE(store_->audit_entries(audit_query(std::nullopt, std::nullopt, "annotation/")).empty())
      << "the audit entries of the rolled-back rows stayed";
  const Database db(path().string());
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM annotations"), 0);

  const auto good = store_->import_annotations({rows[0], rows[1], rows[3]}, kConsultant);
  EXPECT_EQ(good.size(), 3u);
  EXPECT_EQ(store_->annotations(case_id_, "slide-1").size(), 2u);
}

TEST_F(RecordStoreFile, backup_is_a_consistent_copy_while_another_thread_writes) {
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      store_->create_annotation(box(case_id_, i % 2 == 0 ? "slide-1" : "slide-2", i), kConsultant);
      written.fetch_add(1);
    }
  });
  while (written.load() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::size_t before =
      store_->annotations(case_id_, "slide-1").size() + store_->annotations(case_id_, "slide-2").size();
  const fs::path copy = dir_ / "copy.db";
  store_->backup_to(copy.string());
  const int after_backup = written.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), after_backup) << "the writer was not writing while the backup ran";
  EXPECT_FALSE(fs::exists(dir_ / "copy.db.partial"));

  const Database db(copy.string());
  EXPECT_EQ(text_of(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.schema_version(), static_cast<int>(record_migrations().size()));
  const std::int64_t copied = scalar(db, "SELECT count(*) FROM annotations");
  EXPECT_GE(copied, static_cast<std::int64_t>(before)) << "rows written before the backup started are missing";
  EXPECT_LE(copied, written.load());
  // Each annotation and its audit entry were one transaction: a consistent copy holds both or neither.
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM audit WHERE action = 'create' AND resource LIKE 'annotation/%'"), copied);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM cases"), 1);
}

TEST_F(RecordStoreFile, a_create_with_a_stored_client_uid_is_a_replay_that_writes_nothing) {
  Annotation a = box(case_id_, "slide-1", 0);
  a.client_uid = "0123456789abcdef0123456789abcdef";
  const AnnotationCreation first = store_->create_annotation(a, kConsultant);
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.annotation.client_uid, a.client_uid);
  const auto creates = [&] { return store_->audit_entries(audit_query(std::nullopt, "create", "annotation/")).size(); };
  const std::size_t audited = creates();

  Annotation again = box(case_id_, "slide-1", 500);  // a resend need not carry what is stored now
  again.client_uid = a.client_uid;
  const AnnotationCreation replay = store_->create_annotation(again, kAdmin);
  EXPECT_FALSE(replay.created);
  EXPECT_EQ(replay.annotation.id, first.annotation.id);
  EXPECT_EQ(replay.annotation.geometry, first.annotation.geometry) << "the replay answers what is stored";
  EXPECT_EQ(replay.annotation.author, "consultant");
  EXPECT_EQ(store_->annotations(case_id_, "slide-1").size(), 1u);
  EXPECT_EQ(creates(), audited) << "a replay is not audited as a create";

  const auto found = store_->annotation_by_client_uid(*a.client_uid);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->annotation.id, first.annotation.id);
  EXPECT_FALSE(found->deleted);
  EXPECT_FALSE(store_->annotation_by_client_uid("ffffffffffffffffffffffffffffffff").has_value());

  Annotation elsewhere = box(case_id_, "slide-2", 0);
  elsewhere.client_uid = a.client_uid;
  EXPECT_EQ(record_error_status([&] { store_->create_annotation(elsewhere, kConsultant); }, "other slide"), 409);
  elsewhere.case_id = new_case("S24-0002");
  elsewhere.slide_id = "slide-1";
  EXPECT_EQ(record_error_status([&] { store_->create_annotation(elsewhere, kConsultant); }, "other case"), 409);
  EXPECT_TRUE(store_->annotations(case_id_, "slide-2").empty());
  EXPECT_TRUE(store_->annotations(elsewhere.case_id, "slide-1").empty());

  store_->delete_annotation(first.annotation.id, 1, kConsultant);
  EXPECT_EQ(record_error_status([&] { store_->create_annotation(again, kConsultant); }, "deleted"), 410);
  EXPECT_TRUE(store_->annotations(case_id_, "slide-1").empty()) << "a deleted annotation is not made again";
  ASSERT_TRUE(store_->annotation_by_client_uid(*a.client_uid).has_value());
  EXPECT_TRUE(store_->annotation_by_client_uid(*a.client_uid)->deleted);
  EXPECT_EQ(creates(), audited);
}

TEST(RecordClientUid, only_16_to_64_letters_digits_underscores_and_dashes_are_a_client_uid) {
  EXPECT_TRUE(is_valid_client_uid("0123456789abcdef"));
  EXPECT_TRUE(is_valid_client_uid(std::string(64, 'Z')));
  EXPECT_TRUE(is_valid_client_uid("queue_entry-0001-ABCDEF"));
  for (const std::string& bad :
       {std::string(), std::string("0123456789abcde"), std::string(65, 'a'), std::string("0123456789 abcdef"),
        std::string("0123456789/abcdef"), std::string("0123456789.abcdef"), std::string("0123456789abcdé"),
        std::string("0123456789abcdef\n"), std::string("0123456789abc\0def", 17)}) {
    EXPECT_FALSE(is_valid_client_uid(bad)) << "'" << bad << "'";
  }
  EXPECT_EQ(client_uid_from_json(json::object()), std::nullopt);
  EXPECT_EQ(client_uid_from_json({{"client_uid", nullptr}}), std::nullopt);
  EXPECT_EQ(client_uid_from_json({{"client_uid", "0123456789abcdef"}}), "0123456789abcdef");
  for (const json& bad : {json(12345678901234567), json(true), json::array({"0123456789abcdef"}), json("short")}) {
    try {
      client_uid_from_json({{"client_uid", bad}});
      ADD_FAILURE() << bad.dump() << " was accepted";
    } catch (const RecordError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_NE(std::string(e.what()).find("client_uid"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(check_client_uid_kept("0123456789abcdef", std::nullopt));
  EXPECT_NO_THROW(check_client_uid_kept("0123456789abcdef", "0123456789abcdef"));
  EXPECT_NO_THROW(check_client_uid_kept(std::nullopt, std::nullopt));
  EXPECT_THROW(check_client_uid_kept("0123456789abcdef", "0123456789abcdeF"), RecordError);
  EXPECT_THROW(check_client_uid_kept(std::nullopt, "0123456789abcdef"), RecordError);
}

// A record written by the program before client_uid existed: migration 2 adds the column and its unique
// index in place, keeping every row.
TEST(RecordStoreMigration, a_version_1_database_gains_annotation_client_uids_in_place) {
  constexpr std::size_t kBeforeClientUid = 1;  // the schema version the previous release wrote
  ASSERT_GT(record_migrations().size(), kBeforeClientUid);
  test::TempDir dir;
  const std::string path = (dir / "reread.db").string();
  {
    const Database db(path);
    const std::vector<std::string> previous(record_migrations().begin(),
                                            record_migrations().begin() + kBeforeClientUid);
    db.migrate(previous);
    ASSERT_EQ(db.schema_version(), static_cast<int>(kBeforeClientUid));
    db.exec(
        "INSERT INTO users (id, name, role, created_at) VALUES (1, 'consultant', 'consultant', '2024-01-01');"
        "INSERT INTO cases (id, accession, patient_ref, question, requested_at, original_report, created_at) "
        "  VALUES (1, 'OLD-1', 'anon', 'Grade?', '2024-01-01', '{\"diagnosis\": \"carcinoma\"}', '2024-01-01');"
        "INSERT INTO case_slides (case_id, slide_id, position) VALUES (1, 'slide-1', 0);"
        "INSERT INTO annotations (case_id, slide_id, geometry, label, author_id, created_at, updated_at, version) "
        "  VALUES (1, 'slide-1', '{\"type\": \"Point\", \"coordinates\": [1, 2]}', 'old one', 1, 't', 't', 3);"
        "INSERT INTO annotations (case_id, slide_id, geometry, label, author_id, created_at, updated_at) "
        "  VALUES (1, 'slide-1', '{\"type\": \"Point\", \"coordinates\": [3, 4]}', 'old two', 1, 't', 't');");
  }

  SqliteRecordStore store(path);
  const Database db(path);
  EXPECT_EQ(db.schema_version(), static_cast<int>(record_migrations().size()));
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM pragma_table_info('annotations') WHERE name = 'client_uid'"), 1);
  EXPECT_EQ(scalar(db,
                   "SELECT \"unique\" FROM pragma_index_list('annotations') "
                   "WHERE name = 'annotations_by_client_uid'"),
            1);
  const auto old = store.annotations(1, "slide-1");
  ASSERT_EQ(old.size(), 2u) << "the migration kept the annotations";
  EXPECT_EQ(old[0].label, "old one");
  EXPECT_EQ(old[0].version, 3);
  EXPECT_EQ(old[0].geometry, json::parse(R"({"type": "Point", "coordinates": [1, 2]})"));
  EXPECT_EQ(old[0].client_uid, std::nullopt);
  EXPECT_EQ(old[1].client_uid, std::nullopt);

  Annotation a = old[0];
  a.id = 0;
  a.client_uid = "migrated-db-uid-0001";
  const AnnotationCreation made = store.create_annotation(a, kConsultant);
  EXPECT_TRUE(made.created);
  EXPECT_FALSE(store.create_annotation(a, kConsultant).created);
  a.client_uid.reset();
  EXPECT_TRUE(store.create_annotation(a, kConsultant).created) << "many annotations have no client_uid";
  EXPECT_EQ(store.annotations(1, "slide-1").size(), 4u);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM annotations WHERE client_uid IS NULL"), 3);

  // The database itself holds the rules: one annotation per client_uid, and only well-formed ones.
  const std::string insert =
      "INSERT INTO annotations (case_id, slide_id, geometry, author_id, created_at, updated_at, client_uid) "
      "VALUES (1, 'slide-1', '{}', 1, 't', 't', ";
  for (const std::string& uid :
       {std::string("'migrated-db-uid-0001'"), std::string("'too-short'"), std::string("'has a space in it..'"),
        std::string("'has/a/slash/in/it/'"), "'" + std::string(65, 'a') + "'"}) {
    const DbError e = raw_refusal(db, insert + uid + ")");
    EXPECT_TRUE(e.constraint()) << uid << ": " << e.what();
  }
  EXPECT_NO_THROW(db.exec(insert + "'Ok_to-store-0123'" + ")"));
}

// ---- Comparison of the original and the revised report (pure) -----------------------------------------

ConsultReport review(const json& fields) {
  ConsultReport r;
  apply_consult_update(r, {{"fields", fields}});
  return r;
}

json all_confirmed() {
  json f = json::object();
  for (const auto& name : report_field_names()) f[name] = {{"verdict", "confirmed"}};
  return f;
}

TEST(RecordComparison, a_revised_grade_proposes_a_major_discrepancy) {
  json fields = all_confirmed();
  fields["grade"] = {{"verdict", "revised"}, {"value", "G3"}};
  const json cmp = compare_reports(original_report(), review(fields));
  EXPECT_EQ(cmp["proposed_discrepancy"], "major");
  EXPECT_EQ(cmp["fields"]["grade"]["original"], "G2");
  EXPECT_EQ(cmp["fields"]["grade"]["revised"], "G3");
  EXPECT_EQ(cmp["fields"]["grade"]["changed"], true);
  EXPECT_EQ(cmp["fields"]["diagnosis"]["changed"], false);
  EXPECT_EQ(cmp["fields"]["diagnosis"]["verdict"], "confirmed");
  EXPECT_EQ(cmp["all_fields_reviewed"], true);
}

TEST(RecordComparison, revised_margins_alone_propose_a_minor_discrepancy) {
  json fields = all_confirmed();
  fields["margins"] = {{"verdict", "revised"}, {"value", "negative, closest 1.5 mm"}};
  const json cmp = compare_reports(original_report(), review(fields));
  EXPECT_EQ(cmp["proposed_discrepancy"], "minor");
  EXPECT_EQ(cmp["fields"]["margins"]["changed"], true);
  for (const char* unchanged : {"diagnosis", "grade", "stage", "biomarkers"}) {
    EXPECT_EQ(cmp["fields"][unchanged]["changed"], false) << unchanged;
  }
}

TEST(RecordComparison, confirming_everything_is_concordant) {
  const json cmp = compare_reports(original_report(), review(all_confirmed()));
  EXPECT_EQ(cmp["proposed_discrepancy"], "concordant");
  EXPECT_EQ(cmp["all_fields_reviewed"], true);
  for (const auto& name : report_field_names()) {
    EXPECT_EQ(cmp["fields"][name]["changed"], false) << name;
    EXPECT_EQ(cmp["fields"][name]["revised"], cmp["fields"][name]["original"]) << name;
  }
  // A "revision" to the value the original already had changes nothing.
  json same = all_confirmed();
  same["grade"] = {{"verdict", "revised"}, {"value", "G2"}};
  EXPECT_EQ(compare_reports(original_report(), review(same))["proposed_discrepancy"], "concordant");
  // Fields not reviewed yet are reported as such.
  EXPECT_EQ(compare_reports(original_report(), review(json::object()))["all_fields_reviewed"], false);
}

}  // namespace
}  // namespace reread
