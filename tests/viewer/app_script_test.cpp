// Script mode's pure parts: reading a camera path, replaying it against a simulated view, percentiles.
#include "app_script.h"

#include <gtest/gtest.h>

namespace reread::viewer {
namespace {

using nlohmann::json;

TEST(Script, reads_each_kind_of_step) {
  const auto steps = parse_script(json::parse(R"([
    {"open": {"case": 3, "slide": "abc"}},
    {"zoom": {"magnification": 20, "center": [100, 200]}},
    {"pan": {"dx": 50}},
    {"wait": "sharp"},
    {"wait": 250}
  ])"));
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0].kind, ScriptStep::Kind::open);
  EXPECT_EQ(steps[0].case_id, 3);
  EXPECT_EQ(steps[0].slide_id, "abc");
  EXPECT_EQ(steps[1].magnification, 20.0);
  EXPECT_DOUBLE_EQ(steps[1].center->y, 200);
  EXPECT_DOUBLE_EQ(steps[2].delta.x, 50);
  EXPECT_DOUBLE_EQ(steps[2].delta.y, 0);
  EXPECT_EQ(steps[3].kind, ScriptStep::Kind::wait_sharp);
  EXPECT_EQ(steps[4].kind, ScriptStep::Kind::wait_ms);
  EXPECT_DOUBLE_EQ(steps[4].ms, 250);
}

TEST(Script, rejects_malformed_steps_naming_them) {
  const auto message = [](const char* text) {
    try {
      parse_script(json::parse(text));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message(R"({"open": {}})"), "a script is a JSON list of steps");
  EXPECT_NE(message(R"([{"wait": "sharp"}, {"fly": 1}])").find("step 2"), std::string::npos);
  EXPECT_NE(message(R"([{"zoom": {"magnification": -1}}])").find("positive"), std::string::npos);
  EXPECT_NE(message(R"([{"zoom": {"center": [1]}}])").find("center"), std::string::npos);
  EXPECT_NE(message(R"([{"wait": "soon"}])").find("wait"), std::string::npos);
  EXPECT_NE(message(R"([{"open": {}}])").find("names a case"), std::string::npos);
  EXPECT_NE(message(R"([{"click": [1]}])").find("[x, y]"), std::string::npos);
  EXPECT_NE(message(R"([{"drag": {"from": [1, 2]}}])").find("\"to\""), std::string::npos);
  EXPECT_NE(message(R"([{"tool": "lasso"}])").find("unknown tool"), std::string::npos);
  EXPECT_NE(message(R"([{"key": "f5"}])").find("unknown key"), std::string::npos);
  EXPECT_NE(message(R"([{"report": "publish"}])").find("report"), std::string::npos);
}

TEST(Script, input_and_report_steps_are_handed_to_the_app_and_wait_saved_waits_for_the_server) {
  ScriptPlayer p(parse_script(json::parse(R"([
    {"tool": "polygon"}, {"click": [10, 20]}, {"drag": {"from": [1, 2], "to": [3, 4]}},
    {"report": {"confirm": "grade"}}, {"wait": "saved"}, {"report": "sign"}
  ])")));
  ScriptAction a = p.advance(0.0, true, true);
  ASSERT_EQ(a.kind, ScriptAction::Kind::input);
  EXPECT_EQ(a.step->name, "tool");
  EXPECT_EQ(a.step->arg, "polygon");
  a = p.advance(0.1, true, true);
  ASSERT_EQ(a.kind, ScriptAction::Kind::input);
  EXPECT_EQ(a.step->name, "click");
  EXPECT_EQ(a.step->arg, json::parse("[10, 20]"));
  EXPECT_EQ(p.advance(0.2, true, true).kind, ScriptAction::Kind::input);
  a = p.advance(0.3, true, true);
  ASSERT_EQ(a.kind, ScriptAction::Kind::report);
  EXPECT_EQ(a.step->arg, json::parse(R"({"confirm": "grade"})"));
  p.set_saved(false);
  EXPECT_EQ(p.advance(0.4, true, true).kind, ScriptAction::Kind::none) << "changes still on their way";
  EXPECT_EQ(p.advance(0.5, true, true).kind, ScriptAction::Kind::none);
  p.set_saved(true);
  a = p.advance(0.6, true, true);
  ASSERT_EQ(a.kind, ScriptAction::Kind::report) << "the server has everything: the script goes on";
  EXPECT_EQ(a.step->arg, "sign");
}

TEST(Script, times_the_first_view_and_each_move_until_sharp) {
  ScriptPlayer p(parse_script(json::parse(R"([
    {"open": {"slide": "s"}}, {"zoom": {"magnification": 20}}, {"wait": "sharp"},
    {"pan": {"dx": 10}}, {"zoom": {"magnification": 5}}, {"wait": 100}
  ])")));
  EXPECT_EQ(p.advance(0.0, false, false).kind, ScriptAction::Kind::open);
  EXPECT_EQ(p.advance(0.1, true, false).kind, ScriptAction::Kind::none);  // waits for the first sharp view
  EXPECT_EQ(p.advance(0.5, true, true).kind, ScriptAction::Kind::zoom);
  EXPECT_DOUBLE_EQ(*p.time_to_first_complete_view_ms(), 500);
  EXPECT_EQ(p.advance(0.6, true, false).kind, ScriptAction::Kind::none);  // wait sharp
  EXPECT_EQ(p.advance(0.8, true, true).kind, ScriptAction::Kind::pan);
  EXPECT_EQ(p.advance(0.9, true, false).kind, ScriptAction::Kind::zoom);  // before the pan was sharp
  EXPECT_EQ(p.advance(1.0, true, true).kind, ScriptAction::Kind::none);   // wait 100 ms starts
  EXPECT_EQ(p.advance(1.05, true, true).kind, ScriptAction::Kind::none);
  EXPECT_EQ(p.advance(1.2, true, true).kind, ScriptAction::Kind::finished);
  ASSERT_EQ(p.moves().size(), 3u);
  EXPECT_NEAR(*p.moves()[0].ms_until_sharp, 300, 1e-9);
  EXPECT_FALSE(p.moves()[1].ms_until_sharp.has_value());
  EXPECT_NEAR(*p.moves()[2].ms_until_sharp, 100, 1e-9);
}

TEST(Script, a_view_that_never_sharpens_times_out) {
  ScriptPlayer p(parse_script(json::parse(R"([{"open": {"slide": "s"}}])")), 2.0);
  p.advance(0.0, false, false);
  EXPECT_NO_THROW(p.advance(1.0, true, false));
  EXPECT_THROW(p.advance(3.0, true, false), std::runtime_error);
}

TEST(Script, percentile_is_the_nearest_rank) {
  EXPECT_EQ(percentile({}, 0.5), 0.0);
  EXPECT_EQ(percentile({5, 1, 3}, 0.5), 3.0);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 0.99), 99.0);
  EXPECT_EQ(percentile(v, 1.0), 100.0);
}

}  // namespace
}  // namespace reread::viewer
