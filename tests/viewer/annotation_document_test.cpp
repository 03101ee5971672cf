// The annotation document as a pathologist's session uses it: annotations added, reshaped and deleted with
// undo and redo, every change reported for the server, the server's acknowledgements taken without
// disturbing the history, clicks finding the annotation on top, and measurements in microns.
#include "annotation_document.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <set>
#include <string>

#include "viewer/annotation_change_printer.h"

namespace reread::viewer {

namespace {

using annotation::LineString;
using annotation::Point;
using annotation::Polygon;
using annotation::Ring;
using Kind = Change::Kind;

Ring square_ring(double x, double y, double side) {
  return {{x, y}, {x + side, y}, {x + side, y + side}, {x, y + side}, {x, y}};
}

ViewerAnnotation polygon_at(double x, double y, double side, std::string class_name = "tumour") {
  ViewerAnnotation a;
  a.shape = Shape::polygon;
  a.geometry = Polygon{{square_ring(x, y, side)}};
  a.class_name = std::move(class_name);
  a.color = "#d62728";
  return a;
}

ViewerAnnotation ruler(Vec2 from, Vec2 to) {
  ViewerAnnotation a;
  a.shape = Shape::ruler;
  a.geometry = LineString{{{from.x, from.y}, {to.x, to.y}}};
  return a;
}

ViewerAnnotation point_at(Vec2 p, std::string class_name = "mitosis") {
  ViewerAnnotation a;
  a.shape = Shape::point;
  a.geometry = Point{{p.x, p.y}};
  a.class_name = std::move(class_name);
  return a;
}

TEST(AnnotationDocument, new_uids_are_32_lowercase_hex_digits_and_never_repeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string uid = new_client_uid();
    ASSERT_EQ(uid.size(), 32u) << "a 128-bit id in hex, got '" << uid << "'";
    ASSERT_EQ(uid.find_first_not_of("0123456789abcdef"), std::string::npos) << "lowercase hex only: " << uid;
    seen.insert(uid);
  }
  EXPECT_EQ(seen.size(), 1000u) << "1000 random 128-bit ids should all differ";
}

TEST(AnnotationDocument, undo_of_a_create_removes_it_and_redo_brings_it_back_with_the_same_uid) {
  AnnotationDocument doc;
  const std::string uid = doc.add(polygon_at(100, 100, 50));
  ASSERT_EQ(doc.all().size(), 1u);
  EXPECT_FALSE(doc.all()[0].server_id) << "a new annotation is not on the server yet";
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::created, uid}}));

  ASSERT_TRUE(doc.undo());
  EXPECT_TRUE(doc.all().empty()) << "undoing the create removes the annotation";
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::deleted, uid}})) << "the server is told to delete it";

  ASSERT_TRUE(doc.redo());
  ASSERT_NE(doc.find(uid), nullptr) << "redo re-creates the same uid, so the server can deduplicate it";
  EXPECT_EQ(doc.find(uid)->geometry, polygon_at(100, 100, 50).geometry);
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::created, uid}}));
}

TEST(AnnotationDocument, undo_of_a_delete_brings_it_back_in_its_place_with_the_same_uid) {
  AnnotationDocument doc;
  const std::string first = doc.add(polygon_at(0, 0, 10));
  const std::string middle = doc.add(ruler({0, 0}, {100, 0}));
  const std::string last = doc.add(point_at({5, 5}));
  doc.apply_server_state(middle, 42, 3);
  const ViewerAnnotation before = *doc.find(middle);
  doc.take_changes();

  ASSERT_TRUE(doc.remove(middle));
  EXPECT_EQ(doc.find(middle), nullptr);
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::deleted, middle}}));

  ASSERT_TRUE(doc.undo());
  ASSERT_EQ(doc.all().size(), 3u);
  EXPECT_EQ(doc.all()[0].uid, first);
  EXPECT_EQ(doc.all()[1].uid, middle) << "the annotation comes back at its place in creation order";
  EXPECT_EQ(doc.all()[2].uid, last);
  const ViewerAnnotation& back = doc.all()[1];
  EXPECT_EQ(back.geometry, before.geometry);
  EXPECT_EQ(back.shape, Shape::ruler);
  EXPECT_FALSE(back.server_id) << "the server's copy was deleted: it is created again, not updated";
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::created, middle}}));
}

TEST(AnnotationDocument, replace_is_one_step_and_undo_redo_restore_the_exact_geometry) {
  AnnotationDocument doc;
  const std::string uid = doc.add(polygon_at(10.25, 20.5, 30));
  doc.take_changes();
  ViewerAnnotation changed = *doc.find(uid);
  changed.geometry = Polygon{{square_ring(1000.125, 2000.375, 7)}};
  changed.label = "focus of invasion";
  ASSERT_TRUE(doc.replace(changed));
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::updated, uid}}));

  ASSERT_TRUE(doc.undo());
  EXPECT_EQ(doc.find(uid)->geometry, polygon_at(10.25, 20.5, 30).geometry) << "undo gives back the exact ring";
  EXPECT_EQ(doc.find(uid)->label, "");
  ASSERT_TRUE(doc.redo());
  EXPECT_EQ(doc.find(uid)->geometry, changed.geometry) << "redo gives back the exact replacement";
  EXPECT_EQ(doc.find(uid)->label, "focus of invasion");
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::updated, uid}, {Kind::updated, uid}}));

  EXPECT_TRUE(doc.replace(*doc.find(uid)));
  EXPECT_TRUE(doc.take_changes().empty()) << "an identical replacement changes nothing";
  doc.undo();
  EXPECT_EQ(doc.find(uid)->geometry, polygon_at(10.25, 20.5, 30).geometry)
      << "an identical replacement made no undo step of its own";
}

TEST(AnnotationDocument, a_drag_of_many_moves_is_one_undo_step_and_one_change) {
  AnnotationDocument doc;
  const std::string uid = doc.add(polygon_at(0, 0, 100));
  const annotation::Geometry original = doc.find(uid)->geometry;
  doc.take_changes();

  ASSERT_TRUE(doc.begin_edit(uid));
  for (int i = 1; i <= 40; ++i) {
    const std::uint64_t revision = doc.revision();
    ASSERT_TRUE(doc.update_edit(translated(original, {i * 2.5, i * -1.0})));
    EXPECT_GT(doc.revision(), revision) << "each move shows at once: the renderer must rebuild";
  }
  EXPECT_TRUE(doc.take_changes().empty()) << "moves in the middle of a drag are not sent to the server";
  ASSERT_TRUE(doc.commit_edit());
  const annotation::Geometry moved = translated(original, {100, -40});
  EXPECT_EQ(doc.find(uid)->geometry, moved);
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::updated, uid}})) << "the drag is one update";

  ASSERT_TRUE(doc.undo());
  EXPECT_EQ(doc.find(uid)->geometry, original) << "one undo takes the whole drag back";
  ASSERT_TRUE(doc.undo()) << "the next undo is the create";
  EXPECT_TRUE(doc.all().empty());
  ASSERT_TRUE(doc.redo());
  ASSERT_TRUE(doc.redo());
  EXPECT_EQ(doc.find(uid)->geometry, moved) << "redo gives back where the drag ended";
}

TEST(AnnotationDocument, a_cancelled_edit_or_one_back_where_it_began_leaves_no_step) {
  AnnotationDocument doc;
  const std::string uid = doc.add(polygon_at(0, 0, 100));
  const annotation::Geometry original = doc.find(uid)->geometry;
  doc.take_changes();

  ASSERT_TRUE(doc.begin_edit(uid));
  doc.update_edit(translated(original, {50, 50}));
  doc.cancel_edit();
  EXPECT_EQ(doc.find(uid)->geometry, original) << "Escape puts it back";
  EXPECT_EQ(doc.editing(), "");

  ASSERT_TRUE(doc.begin_edit(uid));
  doc.update_edit(translated(original, {50, 50}));
  doc.update_edit(original);
  doc.commit_edit();
  EXPECT_TRUE(doc.take_changes().empty()) << "nothing moved in the end: nothing to send";
  ASSERT_TRUE(doc.undo());
  EXPECT_TRUE(doc.all().empty()) << "the only step left is the create";
  EXPECT_FALSE(doc.update_edit(original)) << "no edit is open";
}

TEST(AnnotationDocument, one_hundred_fifty_edits_undo_to_the_empty_document_and_redo_again) {
  AnnotationDocument doc;
  std::vector<std::string> uids;
  for (int i = 0; i < 150; ++i) {
    if (i % 3 == 2) {
      ViewerAnnotation a = *doc.find(uids.back());
      a.geometry = translated(a.geometry, {1, 1});
      ASSERT_TRUE(doc.replace(a));
    } else {
      uids.push_back(doc.add(polygon_at(i * 10.0, 0, 5)));
    }
  }
  const std::vector<ViewerAnnotation> full = doc.all();
  doc.take_changes();

  for (int i = 0; i < 150; ++i) ASSERT_TRUE(doc.undo()) << "undo " << i + 1 << " of 150";
  EXPECT_TRUE(doc.all().empty()) << "150 undos of 150 edits give back the empty document";
  EXPECT_FALSE(doc.can_undo());
  EXPECT_EQ(doc.take_changes().size(), 150u) << "every undo is reported";

  for (int i = 0; i < 150; ++i) ASSERT_TRUE(doc.redo()) << "redo " << i + 1 << " of 150";
  EXPECT_EQ(doc.all(), full) << "150 redos give back every annotation exactly";
  EXPECT_FALSE(doc.can_redo());
}

TEST(AnnotationDocument, history_keeps_the_latest_256_steps) {
  AnnotationDocument doc;
  for (int i = 0; i < 300; ++i) doc.add(point_at({i * 1.0, 0}));
  int undone = 0;
  while (doc.undo()) ++undone;
  EXPECT_EQ(undone, 256) << "the oldest steps drop beyond 256";
  EXPECT_EQ(doc.all().size(), 44u) << "the 44 oldest creates can no longer be undone";
}

TEST(AnnotationDocument, a_new_command_after_undo_clears_redo) {
  AnnotationDocument doc;
  doc.add(point_at({1, 1}));
  doc.undo();
  ASSERT_TRUE(doc.can_redo());
  doc.add(point_at({2, 2}));
  EXPECT_FALSE(doc.can_redo()) << "a new edit starts a new branch of history";
  EXPECT_FALSE(doc.redo());
}

TEST(AnnotationDocument, server_acknowledgements_make_no_change_and_no_undo_step) {
  AnnotationDocument doc;
  const std::string uid = doc.add(polygon_at(0, 0, 10));
  doc.take_changes();
  ASSERT_TRUE(doc.apply_server_state(uid, 17, 1));
  EXPECT_TRUE(doc.take_changes().empty()) << "the server's acknowledgement is not sent back to it";
  EXPECT_EQ(doc.find(uid)->server_id, 17);
  EXPECT_EQ(doc.find(uid)->version, 1);
  EXPECT_FALSE(doc.apply_server_state("no-such-uid", 1, 1));

  // A move, acknowledged as version 2, then undone: the undo goes to the server as an update of version 2.
  ViewerAnnotation moved = *doc.find(uid);
  moved.geometry = translated(moved.geometry, {5, 0});
  doc.replace(moved);
  doc.apply_server_state(uid, 17, 2);
  ASSERT_TRUE(doc.undo());
  EXPECT_EQ(doc.find(uid)->geometry, polygon_at(0, 0, 10).geometry);
  EXPECT_EQ(doc.find(uid)->version, 2) << "undo restores the drawing, not an old server version";
  EXPECT_EQ(doc.find(uid)->server_id, 17);
  ASSERT_TRUE(doc.undo()) << "the acknowledgements added no steps: the next undo is the create";
  EXPECT_TRUE(doc.all().empty());
  EXPECT_FALSE(doc.can_undo());
}

TEST(AnnotationDocument, annotations_from_the_server_load_without_changes_and_overrule_local_history) {
  AnnotationDocument doc;
  ViewerAnnotation stored = polygon_at(0, 0, 10);
  stored.uid = "srv-5";
  stored.server_id = 5;
  stored.version = 3;
  doc.replace_from_server(stored);
  EXPECT_EQ(doc.all(), (std::vector<ViewerAnnotation>{stored}));
  EXPECT_TRUE(doc.take_changes().empty()) << "loading sends nothing back";
  EXPECT_FALSE(doc.can_undo()) << "loading is not an undo step";

  ViewerAnnotation mine = stored;
  mine.geometry = translated(mine.geometry, {100, 0});
  doc.replace(mine);
  ViewerAnnotation theirs = stored;
  theirs.version = 4;
  theirs.label = "their label";
  doc.replace_from_server(theirs);  // a 412 resolved by taking the server's version
  EXPECT_EQ(*doc.find("srv-5"), theirs);
  EXPECT_FALSE(doc.can_undo()) << "undo must not send back the edit the server overruled";
  EXPECT_EQ(doc.take_changes(), (std::vector<Change>{{Kind::updated, "srv-5"}}))
      << "only the user's own edit was reported";
}

TEST(AnnotationDocument, revision_moves_with_every_change_a_renderer_must_show) {
  AnnotationDocument doc;
  std::uint64_t r = doc.revision();
  const auto bumped = [&] {
    const bool moved = doc.revision() != r;
    r = doc.revision();
    return moved;
  };
  const std::string uid = doc.add(point_at({1, 1}));
  EXPECT_TRUE(bumped()) << "add";
  doc.select(uid);
  EXPECT_TRUE(bumped()) << "select";
  doc.set_class_visible("mitosis", false);
  EXPECT_TRUE(bumped()) << "hide a class";
  doc.undo();
  EXPECT_TRUE(bumped()) << "undo";
  doc.redo();
  EXPECT_TRUE(bumped()) << "redo";
  doc.set_class_visible("mitosis", false);
  EXPECT_FALSE(bumped()) << "hiding a hidden class changes nothing";
}

TEST(AnnotationDocument, selection_follows_what_exists_and_what_is_shown) {
  AnnotationDocument doc;
  const std::string uid = doc.add(point_at({1, 1}, "mitosis"));
  doc.select(uid);
  EXPECT_EQ(doc.selected(), uid);
  doc.select("unknown");
  EXPECT_EQ(doc.selected(), "") << "selecting what is not there clears the selection";
  doc.select(uid);
  doc.set_class_visible("mitosis", false);
  EXPECT_EQ(doc.selected(), "") << "a hidden annotation cannot stay selected";
  EXPECT_FALSE(doc.visible(uid));
  EXPECT_FALSE(doc.class_visible("mitosis"));
  EXPECT_TRUE(doc.class_visible("tumour")) << "classes are visible until hidden";
  doc.set_class_visible("mitosis", true);
  doc.select(uid);
  doc.remove(uid);
  EXPECT_EQ(doc.selected(), "") << "a deleted annotation is no longer selected";
}

TEST(AnnotationDocument, hit_picks_the_topmost_visible_annotation_within_tolerance) {
  AnnotationDocument doc;
  const std::string below = doc.add(polygon_at(0, 0, 100, "stroma"));
  const std::string above = doc.add(polygon_at(50, 50, 100, "tumour"));
  const std::string line = doc.add(ruler({0, 300}, {100, 300}));
  const std::string dot = doc.add(point_at({500, 500}));

  EXPECT_EQ(doc.hit({75, 75}, 2), above) << "inside both squares: the later one is on top";
  EXPECT_EQ(doc.hit({25, 25}, 2), below) << "inside the first square only";
  EXPECT_EQ(doc.hit({-1.5, 50}, 2), below) << "within tolerance of the boundary, outside it";
  EXPECT_EQ(doc.hit({-2.5, 50}, 2), std::nullopt) << "beyond the tolerance of the boundary";
  EXPECT_EQ(doc.hit({50, 301.9}, 2), line) << "within tolerance of the ruler's segment";
  EXPECT_EQ(doc.hit({50, 302.1}, 2), std::nullopt) << "a ruler has no inside";
  EXPECT_EQ(doc.hit({101.9, 300}, 2), line) << "near the ruler's end";
  EXPECT_EQ(doc.hit({501, 501}, 2), dot);
  EXPECT_EQ(doc.hit({503, 500}, 2), std::nullopt);

  doc.set_class_visible("tumour", false);
  EXPECT_EQ(doc.hit({75, 75}, 2), below) << "a hidden class is not hit: the one below is";
  EXPECT_EQ(doc.hit({125, 125}, 2), std::nullopt) << "only the hidden square is there";
}

TEST(AnnotationDocument, a_click_in_a_hole_is_outside_the_polygon) {
  AnnotationDocument doc;
  ViewerAnnotation ring_with_hole;
  ring_with_hole.geometry = Polygon{{square_ring(0, 0, 100), square_ring(40, 40, 20)}};
  const std::string uid = doc.add(ring_with_hole);
  EXPECT_EQ(doc.hit({10, 10}, 1), uid);
  EXPECT_EQ(doc.hit({50, 50}, 1), std::nullopt) << "the middle of the hole";
  EXPECT_EQ(doc.hit({40.5, 50}, 1), uid) << "on the hole's boundary";
}

TEST(AnnotationDocument, handles_are_the_points_a_user_can_drag_for_each_shape) {
  AnnotationDocument doc;
  const std::string square = doc.add(polygon_at(0, 0, 100));
  const std::string line = doc.add(ruler({0, 300}, {100, 300}));
  const std::string dot = doc.add(point_at({500, 500}));
  ViewerAnnotation oval;
  oval.shape = Shape::ellipse;
  oval.geometry = ellipse_geometry({1000, 1000}, {1200, 1100});
  const std::string ellipse = doc.add(oval);

  EXPECT_EQ(handles(*doc.find(square)).size(), 4u) << "a polygon's vertices, without the closing repeat";
  EXPECT_EQ(doc.vertex_at(square, {99, 101}, 3), 2u) << "the bottom-right vertex";
  EXPECT_EQ(doc.vertex_at(square, {50, 0}, 3), std::nullopt) << "the middle of an edge is no handle";
  EXPECT_EQ(doc.vertex_at(line, {100, 300}, 1), 1u) << "the ruler's far end";
  EXPECT_EQ(doc.vertex_at(dot, {500.5, 500}, 1), 0u) << "a point is its own handle";
  EXPECT_EQ(handles(*doc.find(ellipse)).size(), 4u) << "an ellipse is edited by its box";
  EXPECT_EQ(doc.vertex_at(ellipse, {1200, 1100}, 1), 2u) << "the box's bottom-right corner";
  EXPECT_EQ(doc.vertex_at("nothing", {0, 0}, 10), std::nullopt);
}

TEST(AnnotationDocument, moving_a_rectangle_corner_keeps_the_opposite_corner_and_the_axes) {
  ViewerAnnotation box;
  box.shape = Shape::rectangle;
  box.geometry = rectangle_geometry({100, 100}, {200, 150});
  ASSERT_EQ(handles(box).size(), 4u);
  EXPECT_EQ(handles(box)[2].x, 200);
  EXPECT_EQ(handles(box)[2].y, 150);
  const annotation::Geometry moved = with_handle_moved(box, 2, {260, 170});  // bottom-right
  EXPECT_EQ(moved, rectangle_geometry({100, 100}, {260, 170})) << "the top-left corner stays";
  const annotation::Geometry flipped = with_handle_moved(box, 0, {300, 50});  // top-left past the others
  EXPECT_EQ(flipped, rectangle_geometry({200, 150}, {300, 50})) << "the bottom-right corner stays";
}

TEST(AnnotationDocument, measures_a_ruler_in_microns_and_a_square_in_square_millimetres) {
  AnnotationDocument doc;
  const std::string line = doc.add(ruler({1000, 500}, {2000, 500}));
  const std::string square = doc.add(polygon_at(0, 0, 4000));
  const std::string dot = doc.add(point_at({5, 5}));

  const annotation::Measurement ruler_m = doc.measure(line, 0.25, 0.25);
  ASSERT_TRUE(ruler_m.length_um) << "a ruler has a length";
  EXPECT_DOUBLE_EQ(*ruler_m.length_um, 250.0) << "1000 px at 0.25 µm/px";
  EXPECT_FALSE(ruler_m.area_mm2);

  const annotation::Measurement square_m = doc.measure(square, 0.25, 0.25);
  ASSERT_TRUE(square_m.area_mm2 && square_m.length_um);
  EXPECT_DOUBLE_EQ(*square_m.area_mm2, 1.0) << "4000 px = 1000 µm a side: 1 mm²";
  EXPECT_DOUBLE_EQ(*square_m.length_um, 4000.0) << "perimeter 4 x 1000 µm";

  EXPECT_FALSE(doc.measure(dot, 0.25, 0.25).length_um) << "a point measures nothing";
  EXPECT_FALSE(doc.measure(line, 0, 0).length_um) << "no calibration, no number";

  doc.set_class_visible("tumour", false);
  const std::vector<AnnotationRow> rows = doc.rows(0.25, 0.25);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].uid, line);
  EXPECT_EQ(rows[0].shape, "ruler");
  EXPECT_EQ(rows[0].length_um, 250.0);
  EXPECT_EQ(rows[0].bounds, (annotation::Bounds{1000, 500, 2000, 500})) << "where to centre the view";
  EXPECT_EQ(rows[1].shape, "polygon");
  EXPECT_EQ(rows[1].class_name, "tumour");
  EXPECT_EQ(rows[1].area_mm2, 1.0);
  EXPECT_FALSE(rows[1].visible) << "its class is hidden";
  EXPECT_EQ(rows[2].shape, "point");
}

TEST(AnnotationDocument, server_json_round_trips_through_the_input_body) {
  const nlohmann::json server = nlohmann::json::parse(R"({
    "id": 12, "case_id": 3, "slide_id": "s1", "version": 4,
    "geometry": {"type": "Polygon", "coordinates": [[[0.5, 0], [10, 0], [10, 10.25], [0.5, 0]]]},
    "class": {"name": "tumour", "color": "#d62728"}, "label": "focus", "comment": "check margin",
    "author": "dr a", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
    "measurements": {}, "client_uid": "0123456789abcdef0123456789abcdef"})");
  const ViewerAnnotation a = from_server_json(server);
  EXPECT_EQ(a.uid, "0123456789abcdef0123456789abcdef") << "the client_uid is the uid";
  EXPECT_EQ(a.server_id, 12);
  EXPECT_EQ(a.version, 4);
  EXPECT_EQ(a.shape, Shape::polygon);
  EXPECT_EQ(a.class_name, "tumour");
  EXPECT_EQ(a.color, "#d62728");
  EXPECT_EQ(a.label, "focus");
  EXPECT_EQ(a.comment, "check margin");

  const nlohmann::json input = to_input_json(a);
  EXPECT_EQ(input, nlohmann::json::parse(R"({
    "geometry": {"type": "Polygon", "coordinates": [[[0.5, 0], [10, 0], [10, 10.25], [0.5, 0]]]},
    "class": {"name": "tumour", "color": "#d62728"}, "label": "focus", "comment": "check margin",
    "client_uid": "0123456789abcdef0123456789abcdef"})"));

  nlohmann::json back = input;
  back["id"] = 12;
  back["version"] = 4;
  EXPECT_EQ(from_server_json(back), a) << "what the viewer sends, stored and read back, is what it had";
}

TEST(AnnotationDocument, server_json_without_a_client_uid_gets_a_server_uid_and_an_inferred_shape) {
  const auto load = [](const char* text) { return from_server_json(nlohmann::json::parse(text)); };
  const ViewerAnnotation point = load(R"({"id": 7, "version": 1, "geometry": {"type": "Point", "coordinates": [1, 2]},
                                          "class": {}, "label": "", "comment": ""})");
  EXPECT_EQ(point.uid, "srv-7") << "made by another client: named after the server's id";
  EXPECT_EQ(point.shape, Shape::point);
  const ViewerAnnotation line = load(R"({"id": 8, "version": 2, "label": null, "client_uid": null,
      "geometry": {"type": "LineString", "coordinates": [[0, 0], [3, 4]]}})");
  EXPECT_EQ(line.uid, "srv-8");
  EXPECT_EQ(line.shape, Shape::ruler) << "a 2-point LineString is a ruler";
  EXPECT_EQ(line.label, "") << "a null label is empty";

  try {
    load(R"({"id": 9, "version": 1, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}})");
    ADD_FAILURE() << "an invalid ring must be refused";
  } catch (const annotation::GeometryError& e) {
    EXPECT_NE(std::string(e.what()).find("annotation 9"), std::string::npos)
        << "the message names the annotation: " << e.what();
  }
  EXPECT_THROW(load(R"({"version": 1, "geometry": {"type": "Point", "coordinates": [1, 2]}})"), std::invalid_argument)
      << "an annotation without an id";
}

TEST(AnnotationDocument, refuses_a_duplicate_uid_and_an_invalid_geometry) {
  AnnotationDocument doc;
  ViewerAnnotation a = point_at({1, 1});
  a.uid = "same";
  doc.add(a);
  EXPECT_THROW(doc.add(a), std::invalid_argument) << "a uid is unique in a document";
  ViewerAnnotation open_ring;
  open_ring.geometry = Polygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}};
  EXPECT_THROW(doc.add(open_ring), annotation::GeometryError);
  EXPECT_EQ(doc.all().size(), 1u);
  EXPECT_EQ(doc.take_changes().size(), 1u) << "refused adds report nothing";
}

}  // namespace
}  // namespace reread::viewer
