// The consultant's report as the viewer edits it: the comparison's proposal without choosing for the
// consultant, changed marks, the blinded first read, annotation references that follow the text, draft
// updates that the record applies to the same state, sign-out rules, and a signed report left alone. Case
// and report JSON are made by the record's own code from the demo case; the last test is the whole story
// against a real reread-server.
#include "report_draft.h"

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>

#include "server/server_process.h"
#include "test_environment.h"

namespace reread::viewer {
namespace {

using nlohmann::json;
constexpr std::int64_t kCaseId = 42;

// The demo case as the record holds it (its demo slide is a catalogue name, not part of the record).
json demo_case_import(bool blinded) {
  json j = json::parse(test::read_text(test::source_dir() / "server/api/demo_case.json"));
  j.erase("slides");
  j["blinded_first_read"] = blinded;
  return j;
}

// GET /api/cases/{id} as the server answers it; `hidden` withholds what a blinded first read hides (as
// the server's blinded view does for a consultant without an initial impression).
json case_json(bool blinded, bool hidden) {
  CaseRecord rec = case_from_json(demo_case_import(blinded));
  rec.id = kCaseId;
  json j = to_json(rec);
  if (hidden) {
    for (const char* f : {"diagnosis", "histologic_type", "grade", "stage", "full_text"})
      j["original_report"][f] = nullptr;
    j["original_report_hidden"] = true;
  }
  return j;
}

const json& original() {
  static const json o = demo_case_import(false)["original_report"];
  return o;
}

// The record's side of the story: its stored report, and its answer to a draft save (a new version).
struct RecordSide {
  ConsultReport stored;
  RecordSide() { stored.case_id = kCaseId; }
  json report() const { return to_json(stored); }
  json save(const json& body) {
    apply_consult_update(stored, body);
    ++stored.version;
    return report();
  }
};

ReportDraft review_draft(const RecordSide& record) { return ReportDraft(case_json(false, false), record.report()); }

void confirm_all_but(ReportDraft& d, const std::string& except) {
  for (const std::string& name : report_field_names()) {
    if (name == except) continue;
    ASSERT_TRUE(d.confirm(name)) << "confirming " << name;
  }
}

// The members a draft update may change, for comparing two reports' editable state.
json editable(const ConsultReport& r) {
  json j = to_json(r);
  for (const char* k : {"case_id", "status", "signed_by", "signed_at", "version", "updated_at", "addenda"}) j.erase(k);
  return j;
}

TEST(ReportDraft, a_case_that_is_not_blinded_opens_for_review_with_the_original_beside_an_empty_consult) {
  RecordSide record;
  const ReportDraft d = review_draft(record);
  EXPECT_EQ(d.phase(), Phase::review);
  EXPECT_EQ(d.accession(), "S26-04711");
  const auto fields = d.fields();
  ASSERT_EQ(fields.size(), report_field_names().size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const FieldView& f = fields[i];
    EXPECT_EQ(f.name, report_field_names()[i]) << "fields come in report_field_names() order";
    EXPECT_EQ(f.original, original()[f.name]) << f.name << ": the original's value";
    EXPECT_FALSE(f.original_hidden) << f.name;
    EXPECT_EQ(f.verdict, Verdict::none) << f.name << ": nothing reviewed yet";
    EXPECT_FALSE(f.changed) << f.name;
  }
  EXPECT_FALSE(d.dirty()) << "a draft as the server sent it has nothing to save: " << d.update_body().dump();
  EXPECT_EQ(d.proposed(), Discrepancy::concordant);
  EXPECT_FALSE(d.discrepancy().has_value());
}

TEST(ReportDraft, proposes_major_when_diagnosis_grade_or_stage_is_revised) {
  for (const std::string field : {"diagnosis", "grade", "stage"}) {
    RecordSide record;
    ReportDraft d = review_draft(record);
    confirm_all_but(d, field);
    ASSERT_TRUE(d.revise(field, "something else entirely"));
    EXPECT_EQ(d.proposed(), Discrepancy::major) << "revising " << field << " should propose major";
    EXPECT_TRUE(d.changed(field)) << field;
  }
}

TEST(ReportDraft, proposes_minor_when_only_the_margins_change) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  confirm_all_but(d, "margins");
  ASSERT_TRUE(d.revise("margins", "Cannot be assessed on a core biopsy"));
  EXPECT_EQ(d.proposed(), Discrepancy::minor) << "a change outside diagnosis, grade and stage is minor";
  for (const std::string& name : report_field_names()) {
    EXPECT_EQ(d.changed(name), name == "margins") << name << ": only the margins were changed";
  }
}

TEST(ReportDraft, proposes_concordant_when_every_field_is_confirmed_or_revised_to_the_same_value) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  confirm_all_but(d, "grade");
  ASSERT_TRUE(d.revise("grade", original()["grade"].get<std::string>()));
  EXPECT_EQ(d.verdict("grade"), Verdict::revised);
  EXPECT_FALSE(d.changed("grade")) << "a revision that keeps the original's value is not a change";
  EXPECT_EQ(d.proposed(), Discrepancy::concordant);
}

TEST(ReportDraft, never_chooses_the_discrepancy_and_warns_when_the_chosen_one_is_milder) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  confirm_all_but(d, "stage");
  ASSERT_TRUE(d.revise("stage", "cT2 cN0"));
  ASSERT_TRUE(d.set_text("free_text", "Node negative on review."));
  EXPECT_EQ(d.proposed(), Discrepancy::major);
  EXPECT_FALSE(d.discrepancy().has_value()) << "the model must not choose for the consultant";
  EXPECT_FALSE(d.update_body().contains("discrepancy")) << d.update_body().dump();
  EXPECT_FALSE(d.discrepancy_disagrees()) << "nothing chosen, nothing to disagree with";

  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::minor));
  EXPECT_EQ(d.discrepancy(), Discrepancy::minor);
  EXPECT_TRUE(d.discrepancy_disagrees()) << "minor is milder than the proposed major";
  EXPECT_EQ(d.update_body()["discrepancy"], "minor");
  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::major));
  EXPECT_FALSE(d.discrepancy_disagrees());

  ASSERT_TRUE(d.confirm("stage"));
  EXPECT_EQ(d.proposed(), Discrepancy::concordant);
  EXPECT_EQ(d.discrepancy(), Discrepancy::major) << "a new proposal leaves the consultant's choice alone";
  EXPECT_FALSE(d.discrepancy_disagrees()) << "more serious than proposed is the consultant's call, not a warning";
}

TEST(ReportDraft, biomarkers_are_revised_as_rows_and_unnamed_rows_are_not_sent) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  std::vector<Biomarker> rows = d.biomarker_rows();
  ASSERT_EQ(rows.size(), 4u) << "the revision starts from the original's four rows";
  EXPECT_EQ(rows[2], (Biomarker{"HER2 IHC", "2+ (equivocal)"}));
  rows.push_back({"HER2 ISH", "not amplified (ratio 1.3)"});
  rows.push_back({"", "being typed"});
  ASSERT_TRUE(d.revise_biomarkers(rows));
  EXPECT_EQ(d.biomarker_rows().size(), 6u) << "the row being typed stays in the editor";
  EXPECT_TRUE(d.changed("biomarkers"));
  EXPECT_EQ(d.proposed(), Discrepancy::minor);
  const json sent = d.update_body()["fields"]["biomarkers"]["value"];
  ASSERT_EQ(sent.size(), 5u) << "the unnamed row is not sent (the record refuses it): " << sent.dump();
  EXPECT_EQ(sent[4], (json{{"name", "HER2 ISH"}, {"result", "not amplified (ratio 1.3)"}}));
  EXPECT_FALSE(d.revise("biomarkers", "ER positive")) << "biomarkers are rows, not text";
  EXPECT_EQ(value_text(sent),
            "ER: Positive, 90%, strong; PR: Positive, 40%, moderate; HER2 IHC: 2+ (equivocal); "
            "Ki-67: 25%; HER2 ISH: not amplified (ratio 1.3)");

  record.save(d.update_body());
  ASSERT_TRUE(d.mark_saved(record.report()));
  EXPECT_FALSE(d.dirty()) << "saved without the unnamed row, nothing else to send: " << d.update_body().dump();
}

TEST(ReportDraft, blinded_first_read_records_the_impression_before_the_original_is_shown) {
  RecordSide record;
  ReportDraft d(case_json(true, true), record.report());
  ASSERT_EQ(d.phase(), Phase::initial_impression);
  for (const std::string& name : blinded_field_names()) {
    const FieldView f = d.field(name);
    EXPECT_TRUE(f.original_hidden) << name << " must be hidden before the impression";
    EXPECT_TRUE(f.original.is_null()) << name;
  }
  EXPECT_FALSE(d.field("margins").original_hidden) << "the margins are not blinded";
  EXPECT_EQ(d.original_full_text(), "");
  EXPECT_FALSE(d.confirm("margins")) << "the consult report waits for the impression";
  EXPECT_FALSE(d.revise("diagnosis", "x"));
  EXPECT_FALSE(d.set_text("free_text", "x"));
  EXPECT_FALSE(d.choose_discrepancy(Discrepancy::minor));
  EXPECT_FALSE(d.dirty());

  const Permission early = d.can_record_impression();
  EXPECT_FALSE(early.allowed);
  EXPECT_NE(early.reason.find("diagnosis"), std::string::npos) << early.reason;
  ASSERT_TRUE(d.set_impression("diagnosis", "Invasive lobular carcinoma"));
  ASSERT_TRUE(d.set_impression("grade", "Nottingham grade 2"));
  ASSERT_TRUE(d.set_impression("comment", "before seeing the original"));
  EXPECT_FALSE(d.set_impression("margins", "clear")) << "the impression holds the blinded fields and a comment";
  const auto body = d.record_impression();
  ASSERT_TRUE(body.has_value());
  const json impression = {{"diagnosis", "Invasive lobular carcinoma"},
                           {"grade", "Nottingham grade 2"},
                           {"comment", "before seeing the original"}};
  EXPECT_EQ(*body, (json{{"initial_impression", impression}})) << "empty keys are left out";
  EXPECT_TRUE(d.impression_pending());
  EXPECT_FALSE(d.set_impression("grade", "G3")) << "the impression is on its way";
  EXPECT_FALSE(d.record_impression().has_value()) << "recorded once";

  // The server's answer, then the case fetched again (now with the original).
  d.apply_server_report(record.save(*body));
  EXPECT_EQ(d.phase(), Phase::review);
  EXPECT_FALSE(d.impression_pending());
  EXPECT_FALSE(d.confirm("diagnosis")) << "an original still hidden cannot be confirmed";
  EXPECT_FALSE(d.can_sign().allowed);
  d.apply_case(case_json(true, false));
  EXPECT_EQ(d.phase(), Phase::review);
  const FieldView diagnosis = d.field("diagnosis");
  EXPECT_FALSE(diagnosis.original_hidden);
  EXPECT_EQ(diagnosis.original, original()["diagnosis"]);
  EXPECT_EQ(diagnosis.impression, "Invasive lobular carcinoma") << "the impression is kept beside the original";
  EXPECT_EQ(d.impression("comment"), "before seeing the original");
  EXPECT_TRUE(d.field("stage").impression.is_null()) << "no stage was given in the impression";
  EXPECT_EQ(d.original_full_text(), original()["full_text"].get<std::string>());
  EXPECT_TRUE(d.revise("diagnosis", d.impression("diagnosis")));
  EXPECT_TRUE(d.changed("diagnosis"));
  EXPECT_FALSE(d.update_body().contains("initial_impression")) << "the impression is never sent again";
}

TEST(ReportDraft, an_impression_the_server_did_not_take_can_be_edited_and_recorded_again) {
  RecordSide record;
  ReportDraft d(case_json(true, true), record.report());
  ASSERT_TRUE(d.set_impression("diagnosis", "Invasive lobular carcinoma"));
  ASSERT_TRUE(d.record_impression().has_value());
  EXPECT_FALSE(d.set_impression("diagnosis", "x")) << "pending";
  d.apply_server_report(record.report());  // the save was refused: the server's report has no impression
  EXPECT_EQ(d.phase(), Phase::initial_impression);
  EXPECT_FALSE(d.impression_pending());
  EXPECT_EQ(d.impression("diagnosis"), "Invasive lobular carcinoma") << "what was written is kept";
  EXPECT_TRUE(d.set_impression("stage", "cT2"));
  EXPECT_TRUE(d.record_impression().has_value());
}

TEST(ReportDraft, a_case_that_is_not_hidden_opens_for_review_even_when_blinded) {
  // The referrer, the board, or the consultant after the impression: the original is there.
  RecordSide record;
  const ReportDraft d(case_json(true, false), record.report());
  EXPECT_EQ(d.phase(), Phase::review);
  EXPECT_TRUE(d.blinded_first_read());
  EXPECT_FALSE(d.field("grade").original_hidden);
}

TEST(ReportDraft, references_are_parsed_with_their_ranges_and_malformed_tokens_ignored) {
  const std::string text = "See [#12] and [#7], not [#] nor [#x1] nor [#-3] nor [#0] nor [#5 nor #9]; [#3051].";
  const std::vector<ReferenceSpan> spans = references_in(text);
  ASSERT_EQ(spans.size(), 3u) << "only [#12], [#7] and [#3051] are references";
  EXPECT_EQ(spans[0], (ReferenceSpan{12, 4, 9}));
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), "[#7]");
  EXPECT_EQ(spans[2].annotation_id, 3051);
  EXPECT_EQ(text.substr(spans[2].begin, spans[2].end - spans[2].begin), "[#3051]");
  EXPECT_TRUE(references_in("").empty());
  EXPECT_EQ(reference_token(123), "[#123]");
}

TEST(ReportDraft, inserting_a_reference_puts_a_token_in_the_text_and_annotation_refs_follow_the_text) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  ASSERT_TRUE(d.set_text("free_text", "Tumour at the margin. Focal LVI."));
  ASSERT_TRUE(d.insert_reference(12, "free_text", 20));  // the cursor after "margin"
  EXPECT_EQ(d.text("free_text"), "Tumour at the margin [#12]. Focal LVI.");
  ASSERT_TRUE(d.insert_reference(7, "free_text"));  // at the end
  EXPECT_EQ(d.text("free_text"), "Tumour at the margin [#12]. Focal LVI. [#7]");
  ASSERT_TRUE(d.insert_reference(9, "free_text", 23));  // inside [#12]: goes after it
  EXPECT_EQ(d.text("free_text"), "Tumour at the margin [#12] [#9]. Focal LVI. [#7]");
  EXPECT_EQ(d.annotation_refs(), (std::vector<std::int64_t>{12, 9, 7}));
  EXPECT_EQ(d.update_body()["annotation_refs"], (json{12, 9, 7}));

  ASSERT_TRUE(d.revise("margins", "Tumour 1 mm from the inked margin"));
  ASSERT_TRUE(d.insert_reference(30, "margins", 6));
  EXPECT_EQ(d.field("margins").revised, "Tumour [#30] 1 mm from the inked margin");
  ASSERT_TRUE(d.set_text("additional_studies", "HER2 ISH on the block of [#41]"));
  EXPECT_EQ(d.annotation_refs(), (std::vector<std::int64_t>{12, 9, 7, 30, 41}))
      << "free text, then revised fields, then additional studies";

  ASSERT_TRUE(d.set_text("free_text", "Tumour at the margin [#12]. Focal LVI."));
  EXPECT_EQ(d.annotation_refs(), (std::vector<std::int64_t>{12, 30, 41})) << "refs deleted from the text drop out";
  ASSERT_TRUE(d.confirm("margins"));
  EXPECT_EQ(d.annotation_refs(), (std::vector<std::int64_t>{12, 41})) << "a confirmed field has no text of its own";
  EXPECT_FALSE(d.insert_reference(5, "grade")) << "only a revised text field takes a reference";
  EXPECT_FALSE(d.insert_reference(5, "biomarkers"));
  EXPECT_FALSE(d.insert_reference(0, "free_text")) << "0 is no annotation";

  record.save(d.update_body());
  ASSERT_TRUE(d.mark_saved(record.report()));
  EXPECT_EQ(record.stored.annotation_refs, (std::vector<std::int64_t>{12, 41}));
  EXPECT_FALSE(d.dirty());
}

TEST(ReportDraft, a_reference_inserted_in_the_middle_of_a_utf8_character_goes_before_it) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  ASSERT_TRUE(d.set_text("trial_comments", "Ki-67 \xC2\xB1"));  // "Ki-67 ±"
  ASSERT_TRUE(d.insert_reference(4, "trial_comments", 7));      // between the two bytes of "±"
  EXPECT_EQ(d.text("trial_comments"), "Ki-67 [#4] \xC2\xB1");
}

TEST(ReportDraft, the_update_body_applied_by_the_record_gives_the_same_consult_report) {
  RecordSide record;
  record.stored.fields["diagnosis"] = {{"verdict", "confirmed"}};
  record.stored.fields["lymph_nodes"] = {{"verdict", "revised"}, {"value", "Not sampled; US-guided FNA advised"}};
  record.stored.free_text = "First pass.";
  record.stored.version = 3;
  ReportDraft d = review_draft(record);
  EXPECT_FALSE(d.dirty());

  ASSERT_TRUE(d.revise("grade", "Nottingham grade 3 (3+3+2 = 8/9)"));
  ASSERT_TRUE(d.confirm("lymph_nodes"));
  ASSERT_TRUE(d.revise_biomarkers({{"ER", "Positive, 95%"}, {"HER2 ISH", "not amplified"}}));
  ASSERT_TRUE(d.set_text("free_text", "Grade 3 on the whole core [#3]."));
  ASSERT_TRUE(d.set_text("additional_studies", "HER2 ISH"));
  ASSERT_TRUE(d.set_text("trial_comments", "Eligible for NEO-TRIAL-7"));
  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::major));
  const json body = d.update_body();
  EXPECT_FALSE(body["fields"].contains("diagnosis")) << "unchanged fields are not sent: " << body.dump();
  EXPECT_FALSE(body.contains("version")) << "the app sends the version (If-Match)";

  ConsultReport applied = record.stored;
  apply_consult_update(applied, body);
  EXPECT_EQ(editable(applied), editable(d.report())) << "the record would store what the draft shows";

  // The save is answered after the consultant typed on: those keystrokes stay, and are still to save.
  ASSERT_TRUE(d.set_text("trial_comments", "Eligible for NEO-TRIAL-7 (arm B)"));
  const json answer = record.save(body);
  ASSERT_TRUE(d.mark_saved(answer));
  EXPECT_EQ(d.version(), 4);
  EXPECT_EQ(d.text("trial_comments"), "Eligible for NEO-TRIAL-7 (arm B)");
  EXPECT_EQ(d.update_body(), (json{{"trial_comments", "Eligible for NEO-TRIAL-7 (arm B)"}}))
      << "only what changed since the save is left";
  const json stale = record.report();
  const json newer = record.save(d.update_body());
  ASSERT_TRUE(d.mark_saved(newer));
  EXPECT_FALSE(d.dirty());
  EXPECT_FALSE(d.mark_saved(stale)) << "an answer older than the report known is ignored";
  EXPECT_EQ(d.version(), 5);
}

TEST(ReportDraft, taking_the_server_report_drops_local_edits) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  ASSERT_TRUE(d.revise("stage", "cT2 cN0"));
  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::major));
  RecordSide other = record;  // another session saved first
  other.save({{"fields", {{"grade", {{"verdict", "confirmed"}}}}}, {"free_text", "from the other session"}});
  d.apply_server_report(other.report());
  EXPECT_FALSE(d.dirty()) << d.update_body().dump();
  EXPECT_EQ(d.verdict("stage"), Verdict::none);
  EXPECT_EQ(d.verdict("grade"), Verdict::confirmed);
  EXPECT_EQ(d.text("free_text"), "from the other session");
  EXPECT_FALSE(d.discrepancy().has_value());
}

TEST(ReportDraft, sign_out_waits_for_every_field_the_discrepancy_and_the_save) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  Permission p = d.can_sign();
  EXPECT_FALSE(p.allowed);
  EXPECT_NE(p.reason.find("Histologic type"), std::string::npos) << "names the fields left: " << p.reason;
  confirm_all_but(d, "grade");
  p = d.can_sign();
  EXPECT_EQ(p.reason, "confirm or revise every field (Grade)");
  ASSERT_TRUE(d.revise("grade", "Nottingham grade 3"));
  p = d.can_sign();
  EXPECT_NE(p.reason.find("discrepancy"), std::string::npos) << p.reason;
  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::major));
  p = d.can_sign();
  EXPECT_NE(p.reason.find("not saved"), std::string::npos) << p.reason;
  ASSERT_TRUE(d.mark_saved(record.save(d.update_body())));
  p = d.can_sign();
  EXPECT_TRUE(p.allowed) << p.reason;
  EXPECT_TRUE(p.reason.empty());
}

TEST(ReportDraft, a_signed_report_is_read_only_and_takes_addenda) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  confirm_all_but(d, "");
  ASSERT_TRUE(d.choose_discrepancy(Discrepancy::concordant));
  EXPECT_FALSE(d.set_addendum_text("too early")) << "addenda follow the sign-out";
  EXPECT_FALSE(d.can_add_addendum().allowed);
  ASSERT_TRUE(d.mark_saved(record.save(d.update_body())));
  record.stored.status = "signed";
  record.stored.signed_by = "dr-consult";
  record.stored.signed_at = "2026-11-24T10:00:00.000Z";
  d.apply_server_report(record.report());

  EXPECT_EQ(d.phase(), Phase::signed_out);
  EXPECT_EQ(d.signed_by(), "dr-consult");
  EXPECT_FALSE(d.confirm("grade"));
  EXPECT_FALSE(d.revise("grade", "G3"));
  EXPECT_FALSE(d.revise_biomarkers({}));
  EXPECT_FALSE(d.set_text("free_text", "late"));
  EXPECT_FALSE(d.insert_reference(3, "free_text"));
  EXPECT_FALSE(d.choose_discrepancy(Discrepancy::major));
  EXPECT_FALSE(d.apply(ReportEdit{report_edit::SetText{"trial_comments", "late"}}));
  EXPECT_FALSE(d.dirty());
  EXPECT_EQ(d.text("free_text"), "");
  const Permission sign = d.can_sign();
  EXPECT_FALSE(sign.allowed);
  EXPECT_NE(sign.reason.find("signed"), std::string::npos) << sign.reason;

  ASSERT_TRUE(d.apply(ReportEdit{report_edit::SetAddendumText{"HER2 FISH: not amplified."}}));
  EXPECT_TRUE(d.can_add_addendum().allowed) << d.can_add_addendum().reason;
  record.stored.addenda.push_back({1, "HER2 FISH: not amplified.", "dr-consult", "2026-11-26T09:00:00.000Z"});
  d.apply_server_report(record.report());
  EXPECT_EQ(d.addenda().size(), 1u);
  EXPECT_EQ(d.addendum_text(), "") << "the addendum sent is cleared once the server lists it";
}

TEST(ReportDraft, refuses_json_that_is_not_this_case_s_report) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  RecordSide elsewhere;
  elsewhere.stored.case_id = kCaseId + 1;
  EXPECT_THROW(d.mark_saved(elsewhere.report()), std::runtime_error);
  EXPECT_THROW(d.apply_server_report(json::array()), std::runtime_error);
  json bad = record.report();
  bad["fields"]["grade"] = {{"verdict", "maybe"}};
  EXPECT_THROW(d.apply_server_report(bad), std::runtime_error) << "the record's own checks apply";
  json other_case = case_json(false, false);
  other_case["id"] = kCaseId + 1;
  EXPECT_THROW(d.apply_case(other_case), std::runtime_error);
  EXPECT_EQ(d.case_id(), kCaseId);
}

TEST(ReportDraft, edits_arrive_as_values_through_apply) {
  RecordSide record;
  ReportDraft d = review_draft(record);
  EXPECT_TRUE(d.apply(ReportEdit{report_edit::Revise{"stage", "cT2 cN0"}}));
  EXPECT_TRUE(d.apply(ReportEdit{report_edit::Confirm{"grade"}}));
  EXPECT_TRUE(d.apply(ReportEdit{report_edit::InsertReference{8, "free_text", std::string::npos}}));
  EXPECT_TRUE(d.apply(ReportEdit{report_edit::ChooseDiscrepancy{Discrepancy::major}}));
  EXPECT_FALSE(d.apply(ReportEdit{report_edit::SetText{"question", "x"}})) << "not a report text";
  EXPECT_FALSE(d.apply(ReportEdit{report_edit::Confirm{"colour"}})) << "not a report field";
  EXPECT_FALSE(d.apply(ReportEdit{report_edit::SetImpression{"diagnosis", "x"}})) << "no blinded read here";
  const json body = d.update_body();
  EXPECT_EQ(body["fields"]["stage"], (json{{"verdict", "revised"}, {"value", "cT2 cN0"}}));
  EXPECT_EQ(body["fields"]["grade"], (json{{"verdict", "confirmed"}}));
  EXPECT_EQ(body["free_text"], "[#8]");
  EXPECT_EQ(body["discrepancy"], "major");
}

// ---- The whole story against a real reread-server ---------------------------------------------------------

namespace http = boost::beast::http;

class ReportDraftWithServer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "slides");
    server_ = std::make_unique<test::ServerProcess>(std::vector<std::string>{
        "--listen", "127.0.0.1:0", "--slides", (dir_.path() / "slides").string(), "--log-level", "warn"});
    admin_ = server_->admin_token();
    consultant_ = add_user("dr-consult", "consultant");
    add_user("dr-referrer", "referrer");
  }

  json call(const std::string& token, http::verb method, const std::string& target, const json& body = nullptr,
            std::map<std::string, std::string> headers = {}, int expected = 200) {
    headers["Authorization"] = "Bearer " + token;
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    const test::HttpResult r =
        test::http_request(server_->port(), target, headers, method, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, expected) << to_string(method) << " " << target << ": " << r.body.substr(0, 400);
    return json::parse(r.body, nullptr, false);
  }
  std::string add_user(const std::string& name, const std::string& role) {
    call(admin_, http::verb::post, "/api/users", {{"name", name}, {"role", role}}, {}, 201);
    return call(admin_, http::verb::post, "/api/users/" + name + "/tokens", {{"label", "tests"}}, {}, 201)["token"];
  }
  json save(const std::string& path, const ReportDraft& d, const json& body) {
    return call(consultant_, http::verb::put, path, body, {{"If-Match", "\"" + std::to_string(d.version()) + "\""}});
  }

  test::TempDir dir_;
  std::unique_ptr<test::ServerProcess> server_;
  std::string admin_, consultant_;
};

TEST_F(ReportDraftWithServer, a_blinded_case_from_impression_to_sign_out_and_addendum) {
  const json made = call(admin_, http::verb::post, "/api/cases", demo_case_import(true), {}, 201);
  const std::string kase = "/api/cases/" + std::to_string(made["id"].get<std::int64_t>());
  const std::string report = kase + "/report";

  ReportDraft d(call(consultant_, http::verb::get, kase), call(consultant_, http::verb::get, report));
  ASSERT_EQ(d.phase(), Phase::initial_impression) << "the server hides the original from the consultant";
  EXPECT_TRUE(d.field("diagnosis").original_hidden);
  ASSERT_TRUE(d.set_impression("diagnosis", "Invasive carcinoma NST"));
  ASSERT_TRUE(d.set_impression("grade", "Nottingham grade 3"));
  const auto impression = d.record_impression();
  ASSERT_TRUE(impression.has_value());
  d.apply_server_report(save(report, d, *impression));
  d.apply_case(call(consultant_, http::verb::get, kase));
  ASSERT_EQ(d.phase(), Phase::review);
  EXPECT_EQ(d.field("diagnosis").original, original()["diagnosis"]) << "the original is shown after the impression";
  EXPECT_EQ(d.field("grade").impression, "Nottingham grade 3");

  confirm_all_but(d, "grade");
  ASSERT_TRUE(d.revise("grade", d.impression("grade")));
  ASSERT_TRUE(d.set_text("free_text", "Three mitoses per 10 HPF in the hot spot."));
  EXPECT_EQ(d.proposed(), Discrepancy::major);
  ASSERT_TRUE(d.choose_discrepancy(d.proposed()));
  ASSERT_TRUE(d.mark_saved(save(report, d, d.update_body())));
  EXPECT_FALSE(d.dirty()) << d.update_body().dump();
  const json comparison = call(consultant_, http::verb::get, kase + "/comparison");
  EXPECT_EQ(comparison["proposed_discrepancy"], "major") << "the server compares as the draft did";
  EXPECT_EQ(comparison["fields"]["grade"]["changed"], true);
  ASSERT_TRUE(d.can_sign().allowed) << d.can_sign().reason;

  d.apply_server_report(call(consultant_, http::verb::post, report + "/sign", nullptr,
                             {{"If-Match", "\"" + std::to_string(d.version()) + "\""}}));
  ASSERT_EQ(d.phase(), Phase::signed_out);
  EXPECT_EQ(d.signed_by(), "dr-consult");
  EXPECT_FALSE(d.revise("grade", "G2"));
  ASSERT_TRUE(d.set_addendum_text("HER2 ISH: not amplified."));
  ASSERT_TRUE(d.can_add_addendum().allowed);
  d.apply_server_report(
      call(consultant_, http::verb::post, report + "/addenda", {{"text", d.addendum_text()}}, {}, 201));
  ASSERT_EQ(d.addenda().size(), 1u);
  EXPECT_EQ(d.addenda()[0].text, "HER2 ISH: not amplified.");
  EXPECT_EQ(d.addendum_text(), "");
}

}  // namespace
}  // namespace reread::viewer
