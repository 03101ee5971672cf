// The annotation tools as a pathologist uses them: each tool turns a sequence of clicks, drags and keys into
// exactly the expected geometry, and the select tool reshapes, moves and deletes with one undo step each.
#include "annotation_tools.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <utility>

#include "viewer/annotation_change_printer.h"

namespace reread::viewer {

namespace {

using annotation::LineString;
using annotation::Point;
using annotation::Polygon;
using annotation::Position;
using annotation::Ring;
using Kind = Change::Kind;

// A document, its tools and a mouse, at `pixel` level-0 pixels per screen pixel.
struct Desk {
  AnnotationDocument doc;
  AnnotationTools tools{doc};
  double pixel = 1;

  explicit Desk(Tool tool, double pixel_size = 1) : pixel(pixel_size) { tools.set_tool(tool); }

  bool click(Vec2 p) {
    const bool down = tools.pointer_down(p, pixel);
    tools.pointer_up(p, pixel);
    return down;
  }
  // What a double-click delivers: two presses and releases at one spot, then the double-click itself.
  void double_click(Vec2 p) {
    click(p);
    tools.pointer_down(p, pixel);
    tools.double_click(p, pixel);
    tools.pointer_up(p, pixel);
  }
  // Press at `from`, `steps` moves along the straight line, release at `to`.
  void drag(Vec2 from, Vec2 to, int steps = 10, Modifiers modifiers = {}) {
    tools.pointer_down(from, pixel, modifiers);
    for (int i = 1; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      tools.pointer_move({from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t}, pixel);
    }
    tools.pointer_up(to, pixel);
  }
  const ViewerAnnotation& only() const {
    EXPECT_EQ(doc.all().size(), 1u) << "expected exactly one annotation";
    return doc.all().at(0);  // throws, and fails the test, when there is none
  }
};

Ring ring(std::initializer_list<Position> corners) {
  Ring r(corners);
  r.push_back(r.front());
  return r;
}

annotation::Geometry line(std::initializer_list<Position> positions) { return LineString{positions}; }
annotation::Geometry polygon(Ring outer) { return Polygon{{std::move(outer)}}; }

ViewerAnnotation drawn(annotation::Geometry geometry, Shape shape = Shape::polygon, std::string class_name = "") {
  ViewerAnnotation a;
  a.shape = shape;
  a.geometry = std::move(geometry);
  a.class_name = std::move(class_name);
  return a;
}

TEST(AnnotationTools, point_tool_places_a_point_where_clicked_and_a_double_click_places_one) {
  Desk desk(Tool::point);
  desk.tools.set_current_class("mitosis", "#2ca02c");
  desk.tools.set_current_label("MF 1");
  EXPECT_TRUE(desk.click({120.5, 80.25})) << "the click is the tool's, not a pan";
  const ViewerAnnotation& a = desk.only();
  EXPECT_EQ(a.shape, Shape::point);
  EXPECT_EQ(a.geometry, annotation::Geometry(Point{{120.5, 80.25}}));
  EXPECT_EQ(a.class_name, "mitosis");
  EXPECT_EQ(a.color, "#2ca02c");
  EXPECT_EQ(a.label, "MF 1");
  EXPECT_EQ(desk.doc.selected(), a.uid) << "a new annotation is selected, ready for its label";

  desk.double_click({500, 500});
  EXPECT_EQ(desk.doc.all().size(), 2u) << "a double-click is one point, not two";
}

TEST(AnnotationTools, ruler_from_a_drag_or_from_two_clicks) {
  Desk desk(Tool::ruler);
  desk.drag({100, 100}, {1100, 100});
  EXPECT_EQ(desk.only().shape, Shape::ruler);
  EXPECT_EQ(desk.only().geometry, line({{100, 100}, {1100, 100}}));

  Desk clicks(Tool::ruler);
  clicks.click({10, 10});
  EXPECT_TRUE(clicks.doc.all().empty()) << "one click sets the first end only";
  EXPECT_TRUE(clicks.tools.pointer_move({40, 50}, 1)) << "the free end follows the pointer";
  ASSERT_TRUE(clicks.tools.preview().drawing);
  EXPECT_EQ(*clicks.tools.preview().drawing, line({{10, 10}, {40, 50}}));
  clicks.click({40, 50});
  EXPECT_EQ(clicks.only().geometry, line({{10, 10}, {40, 50}}));
  EXPECT_FALSE(clicks.tools.preview().drawing) << "nothing is being drawn any more";
}

TEST(AnnotationTools, rectangle_drag_gives_the_five_position_ring_of_its_corners) {
  Desk desk(Tool::rectangle);
  desk.drag({300, 200}, {100, 50});  // dragged up and left
  EXPECT_EQ(desk.only().shape, Shape::rectangle);
  EXPECT_EQ(desk.only().geometry, polygon(ring({{100, 50}, {300, 50}, {300, 200}, {100, 200}})))
      << "top-left, top-right, bottom-right, bottom-left, top-left again";
}

TEST(AnnotationTools, a_zero_size_rectangle_or_ellipse_creates_nothing) {
  for (const Tool tool : {Tool::rectangle, Tool::ellipse}) {
    Desk desk(tool, 4);
    desk.click({100, 100});
    desk.drag({100, 100}, {500, 100});  // no height
    desk.drag({100, 100}, {102, 300});  // half a screen pixel wide at 4 level-0 px per screen px
    EXPECT_TRUE(desk.doc.all().empty()) << "a box without area is no annotation";
    EXPECT_FALSE(desk.doc.can_undo());
  }
}

TEST(AnnotationTools, shift_makes_a_square_and_a_circle) {
  Desk desk(Tool::rectangle);
  desk.drag({100, 100}, {160, 140}, 5, Modifiers{true, false, false});
  EXPECT_EQ(desk.only().geometry, rectangle_geometry({100, 100}, {160, 160})) << "the longer side wins";

  Desk circle(Tool::ellipse);
  circle.drag({100, 100}, {40, 130}, 5, Modifiers{true, false, false});
  EXPECT_EQ(circle.only().geometry, ellipse_geometry({100, 100}, {40, 160})) << "dragged left and down: 60 across";
}

TEST(AnnotationTools, ellipse_drag_gives_64_vertices_on_the_ellipse) {
  Desk desk(Tool::ellipse);
  desk.drag({1000, 2000}, {1600, 2300});
  const ViewerAnnotation& a = desk.only();
  EXPECT_EQ(a.shape, Shape::ellipse);
  const auto* polygon = std::get_if<Polygon>(&a.geometry);
  ASSERT_NE(polygon, nullptr) << "an ellipse is stored as a Polygon";
  ASSERT_EQ(polygon->rings.size(), 1u);
  const Ring& r = polygon->rings[0];
  ASSERT_EQ(r.size(), 65u) << "64 vertices and the first repeated";
  EXPECT_EQ(r.front(), r.back());
  const double cx = 1300, cy = 2150, rx = 300, ry = 150;
  for (std::size_t i = 0; i < 64; ++i) {
    const double on = std::pow((r[i].x - cx) / rx, 2) + std::pow((r[i].y - cy) / ry, 2);
    EXPECT_NEAR(on, 1.0, 1e-9) << "vertex " << i << " (" << r[i].x << ", " << r[i].y << ") is off the ellipse";
  }
  const annotation::Bounds b = annotation::bounds(a.geometry);
  EXPECT_NEAR(b.min_x, 1000, 1e-9);
  EXPECT_NEAR(b.max_x, 1600, 1e-9);
  EXPECT_NEAR(b.min_y, 2000, 1e-9);
  EXPECT_NEAR(b.max_y, 2300, 1e-9) << "the ellipse fills the dragged box";
}

TEST(AnnotationTools, polygon_from_four_clicks_and_a_double_click_is_the_closed_ring_of_those_four) {
  Desk desk(Tool::polygon);
  desk.click({0, 0});
  desk.click({100, 0});
  desk.click({100, 80});
  desk.double_click({10, 90});
  EXPECT_EQ(desk.only().shape, Shape::polygon);
  EXPECT_EQ(desk.only().geometry, polygon(ring({{0, 0}, {100, 0}, {100, 80}, {10, 90}})))
      << "the double-click's second press adds no vertex";
}

TEST(AnnotationTools, polygon_closes_with_enter_or_a_click_on_its_first_vertex) {
  const Ring expected = ring({{0, 0}, {100, 0}, {50, 70}});
  {
    Desk desk(Tool::polygon, 2);
    desk.click({0, 0});
    desk.click({100, 0});
    desk.click({50, 70});
    EXPECT_TRUE(desk.tools.key(Key::enter));
    EXPECT_EQ(desk.only().geometry, polygon(expected)) << "Enter closes";
  }
  {
    Desk desk(Tool::polygon, 2);
    desk.click({0, 0});
    desk.click({100, 0});
    desk.click({50, 70});
    desk.tools.pointer_move({8, 6}, desk.pixel);
    EXPECT_TRUE(desk.tools.preview().closes) << "10 level-0 px = 5 screen px from the first vertex";
    desk.click({8, 6});
    EXPECT_EQ(desk.only().geometry, polygon(expected)) << "a click within 6 screen px of the first vertex closes on it";
  }
}

TEST(AnnotationTools, polygon_needs_three_distinct_vertices_and_backspace_and_escape_take_back) {
  Desk desk(Tool::polygon);
  desk.click({0, 0});
  desk.click({100, 0});
  desk.double_click({100, 0});
  EXPECT_TRUE(desk.doc.all().empty()) << "two vertices make no polygon";
  desk.click({100, 100});
  desk.click({500, 500});
  EXPECT_TRUE(desk.tools.key(Key::backspace)) << "Backspace removes the last vertex";
  desk.tools.key(Key::enter);
  EXPECT_EQ(desk.only().geometry, polygon(ring({{0, 0}, {100, 0}, {100, 100}})));

  Desk cancelled(Tool::polygon);
  cancelled.click({0, 0});
  cancelled.click({100, 0});
  cancelled.click({100, 100});
  EXPECT_TRUE(cancelled.tools.key(Key::escape));
  EXPECT_FALSE(cancelled.tools.busy());
  cancelled.tools.key(Key::enter);
  EXPECT_TRUE(cancelled.doc.all().empty()) << "Escape gave the polygon up";
}

TEST(AnnotationTools, polygon_preview_shows_the_vertices_and_a_segment_to_the_pointer) {
  Desk desk(Tool::polygon);
  desk.tools.set_current_class("tumour", "#d62728");
  desk.click({0, 0});
  desk.click({100, 0});
  EXPECT_TRUE(desk.tools.pointer_move({60, 40}, 1));
  const ToolPreview preview = desk.tools.preview();
  ASSERT_TRUE(preview.drawing);
  EXPECT_EQ(*preview.drawing, line({{0, 0}, {100, 0}, {60, 40}}));
  EXPECT_EQ(preview.shape, Shape::polygon);
  EXPECT_EQ(preview.color, "#d62728");
  EXPECT_FALSE(preview.closes);
}

TEST(AnnotationTools, freehand_keeps_points_two_screen_pixels_apart_and_closes_on_release) {
  Desk desk(Tool::freehand, 2);  // 2 screen px = 4 level-0 px
  desk.tools.pointer_down({0, 0}, desk.pixel);
  for (int x = 1; x <= 20; ++x) desk.tools.pointer_move({x * 1.0, 0}, desk.pixel);
  for (int y = 1; y <= 20; ++y) desk.tools.pointer_move({20, y * 1.0}, desk.pixel);
  desk.tools.pointer_up({20, 21}, desk.pixel);  // under 2 screen px from the last kept point
  EXPECT_EQ(desk.only().shape, Shape::freehand);
  const Ring expected =
      ring({{0, 0}, {4, 0}, {8, 0}, {12, 0}, {16, 0}, {20, 0}, {20, 4}, {20, 8}, {20, 12}, {20, 16}, {20, 20}});
  EXPECT_EQ(desk.only().geometry, polygon(expected)) << "every fourth level-0 pixel of the stroke, closed";

  Desk flick(Tool::freehand);
  flick.drag({0, 0}, {3, 0}, 3);
  EXPECT_TRUE(flick.doc.all().empty()) << "a stroke of 2 points is no shape";
}

TEST(AnnotationTools, select_click_selects_the_annotation_under_the_pointer_or_clears) {
  Desk desk(Tool::select, 2);
  const std::string square = desk.doc.add(drawn(rectangle_geometry({0, 0}, {100, 100}), Shape::rectangle));
  desk.doc.take_changes();
  EXPECT_TRUE(desk.click({50, 50}));
  EXPECT_EQ(desk.doc.selected(), square);
  EXPECT_FALSE(desk.doc.can_redo());
  EXPECT_EQ(desk.tools.preview().handles.size(), 4u) << "the selected rectangle shows its corners";
  EXPECT_FALSE(desk.click({300, 300})) << "a click on the bare slide is left to the app (it pans)";
  EXPECT_EQ(desk.doc.selected(), "");
  EXPECT_TRUE(desk.doc.take_changes().empty()) << "selecting changes nothing on the server";
  desk.click({50, 50});
  EXPECT_TRUE(desk.tools.key(Key::escape));
  EXPECT_EQ(desk.doc.selected(), "") << "Escape deselects";
}

TEST(AnnotationTools, a_click_without_movement_changes_nothing) {
  Desk desk(Tool::select);
  const std::string uid = desk.doc.add(drawn(polygon(ring({{0, 0}, {100, 0}, {100, 100}}))));
  desk.doc.select(uid);
  desk.doc.take_changes();
  const annotation::Geometry before = desk.doc.find(uid)->geometry;
  desk.tools.pointer_down({100, 0}, 1);  // on a handle
  desk.tools.pointer_move({101, 1}, 1);  // under the click distance
  desk.tools.pointer_up({101, 1}, 1);
  desk.click({60, 30});  // inside
  EXPECT_EQ(desk.doc.find(uid)->geometry, before);
  EXPECT_TRUE(desk.doc.take_changes().empty());
  desk.doc.undo();
  EXPECT_TRUE(desk.doc.all().empty()) << "no step was made: the only one is the create";
}

TEST(AnnotationTools, dragging_a_polygon_vertex_is_one_undo_step) {
  Desk desk(Tool::select);
  const Ring original = ring({{0, 0}, {100, 0}, {100, 100}, {0, 100}});
  const std::string uid = desk.doc.add(drawn(polygon(original)));
  desk.doc.select(uid);
  desk.doc.take_changes();

  desk.drag({0, 0}, {-30, -20}, 25);  // the first vertex, which also closes the ring
  const Ring edited = ring({{-30, -20}, {100, 0}, {100, 100}, {0, 100}});
  EXPECT_EQ(desk.doc.find(uid)->geometry, polygon(edited)) << "the vertex and the ring's closing repeat moved";
  EXPECT_EQ(desk.doc.take_changes(), (std::vector<Change>{{Kind::updated, uid}})) << "25 moves, one update";

  ASSERT_TRUE(desk.doc.undo());
  EXPECT_EQ(desk.doc.find(uid)->geometry, polygon(original)) << "one undo, all of it";
  ASSERT_TRUE(desk.doc.redo());
  EXPECT_EQ(desk.doc.find(uid)->geometry, polygon(edited));
}

TEST(AnnotationTools, dragging_a_rectangle_corner_keeps_it_axis_aligned_and_the_opposite_corner_still) {
  Desk desk(Tool::rectangle);
  desk.drag({100, 100}, {200, 150});
  desk.tools.set_tool(Tool::select);
  const std::string uid = desk.only().uid;
  desk.doc.take_changes();
  desk.drag({200, 150}, {250, 300}, 7);  // bottom-right corner
  EXPECT_EQ(desk.doc.find(uid)->geometry, rectangle_geometry({100, 100}, {250, 300}));
  EXPECT_EQ(desk.doc.find(uid)->shape, Shape::rectangle);
  EXPECT_EQ(desk.doc.take_changes().size(), 1u);
  desk.doc.undo();
  EXPECT_EQ(desk.doc.find(uid)->geometry, rectangle_geometry({100, 100}, {200, 150}));
}

TEST(AnnotationTools, dragging_an_ellipse_corner_rebuilds_it_in_the_new_box) {
  Desk desk(Tool::ellipse);
  desk.drag({0, 0}, {200, 100});
  desk.tools.set_tool(Tool::select);
  const std::string uid = desk.only().uid;
  desk.drag({0, 0}, {-100, -50});  // the box's top-left corner
  const annotation::Geometry expected = ellipse_geometry({200, 100}, {-100, -50});
  const auto& got = std::get<Polygon>(desk.doc.find(uid)->geometry).rings[0];
  const auto& want = std::get<Polygon>(expected).rings[0];
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].x, want[i].x, 1e-9) << "vertex " << i;
    EXPECT_NEAR(got[i].y, want[i].y, 1e-9) << "vertex " << i;
  }
  EXPECT_EQ(desk.doc.find(uid)->shape, Shape::ellipse);
}

TEST(AnnotationTools, dragging_an_annotation_moves_it_by_the_drag_in_one_undo_step) {
  Desk desk(Tool::select, 0.5);
  const std::string ruler_uid = desk.doc.add(drawn(line({{0, 0}, {100, 0}}), Shape::ruler));
  desk.doc.take_changes();
  desk.drag({50, 0.5}, {80.25, 40.5}, 30);  // grabbed in the middle, not at an end
  EXPECT_EQ(desk.doc.find(ruler_uid)->geometry, line({{30.25, 40}, {130.25, 40}}));
  EXPECT_EQ(desk.doc.take_changes(), (std::vector<Change>{{Kind::updated, ruler_uid}}));
  desk.doc.undo();
  EXPECT_EQ(desk.doc.find(ruler_uid)->geometry, line({{0, 0}, {100, 0}}));
}

TEST(AnnotationTools, escape_during_a_drag_puts_the_annotation_back) {
  Desk desk(Tool::select);
  const std::string uid = desk.doc.add(drawn(rectangle_geometry({0, 0}, {100, 100})));
  desk.tools.pointer_down({50, 50}, 1);
  desk.tools.pointer_move({90, 90}, 1);
  EXPECT_EQ(desk.doc.find(uid)->geometry, rectangle_geometry({40, 40}, {140, 140})) << "it moves during the drag";
  EXPECT_TRUE(desk.tools.key(Key::escape));
  desk.tools.pointer_up({90, 90}, 1);
  EXPECT_EQ(desk.doc.find(uid)->geometry, rectangle_geometry({0, 0}, {100, 100}));
  desk.doc.undo();
  EXPECT_TRUE(desk.doc.all().empty()) << "the cancelled drag left no step";
}

TEST(AnnotationTools, delete_removes_the_selected_annotation_in_one_undo_step) {
  for (const Key key : {Key::del, Key::backspace}) {
    Desk desk(Tool::select);
    const std::string uid = desk.doc.add(drawn(rectangle_geometry({0, 0}, {100, 100})));
    desk.doc.take_changes();
    EXPECT_FALSE(desk.tools.key(key)) << "nothing selected: nothing to delete";
    desk.click({50, 50});
    EXPECT_TRUE(desk.tools.key(key));
    EXPECT_TRUE(desk.doc.all().empty());
    EXPECT_EQ(desk.doc.take_changes(), (std::vector<Change>{{Kind::deleted, uid}}));
    desk.doc.undo();
    ASSERT_NE(desk.doc.find(uid), nullptr) << "undo brings back the same uid";
    EXPECT_EQ(desk.doc.find(uid)->geometry, rectangle_geometry({0, 0}, {100, 100}));
  }
}

TEST(AnnotationTools, hidden_annotations_cannot_be_selected) {
  Desk desk(Tool::select);
  desk.doc.add(drawn(rectangle_geometry({0, 0}, {100, 100}), Shape::rectangle, "stroma"));
  desk.doc.set_class_visible("stroma", false);
  EXPECT_FALSE(desk.click({50, 50}));
  EXPECT_EQ(desk.doc.selected(), "");
}

TEST(AnnotationTools, changing_tool_gives_up_the_drawing_in_progress) {
  Desk desk(Tool::polygon);
  desk.click({0, 0});
  desk.click({100, 0});
  desk.click({100, 100});
  desk.tools.set_tool(Tool::rectangle);
  EXPECT_FALSE(desk.tools.busy());
  EXPECT_FALSE(desk.tools.preview().drawing);
  EXPECT_TRUE(desk.doc.all().empty());
  EXPECT_EQ(desk.tools.tool(), Tool::rectangle);
}

}  // namespace
}  // namespace reread::viewer
