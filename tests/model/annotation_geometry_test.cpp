// Annotation geometry: strict GeoJSON parsing with messages that say where, exact round trips, bounds, slide
// intersection, and measurements checked against numbers worked out by hand.
#include "annotation_geometry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace reread::annotation {
namespace {

using nlohmann::json;

// The message of the GeometryError that parsing j throws; a test failure when it parses.
std::string parse_error(const json& j) {
  try {
    parse_geojson_geometry(j);
  } catch (const GeometryError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a GeometryError for " << j.dump();
  return {};
}

Ring rectangle(double x, double y, double w, double h) {
  return {{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}, {x, y}};
}

TEST(AnnotationGeometry, parses_every_geometry_type_and_writes_it_back_exactly) {
  const json samples[] = {
      json::parse(R"({"type": "Point", "coordinates": [0.1, 123456.789]})"),
      json::parse(R"({"type": "MultiPoint", "coordinates": [[1e-7, 2], [3.3333333333333335, 4]]})"),
      json::parse(R"({"type": "LineString", "coordinates": [[0, 0], [3, 4], [1e5, 0.30000000000000004]]})"),
      json::parse(R"({"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]],
                                                          [[10, 10], [20, 10], [20, 20], [10, 10]]]})"),
      json::parse(R"({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]],
                                                               [[[5, 5], [6.5, 5], [6.5, 6.5], [5, 5]]]]})"),
  };
  for (const json& sample : samples) {
    const Geometry g = parse_geojson_geometry(sample);
    EXPECT_EQ(type_name(g), sample["type"].get<std::string>());
    const json written = to_geojson(g);
    EXPECT_EQ(parse_geojson_geometry(written), g) << written.dump();
    // Through text too, as a file or an HTTP body carries it.
    EXPECT_EQ(parse_geojson_geometry(json::parse(written.dump())), g) << written.dump();
  }
  const auto point = std::get<Point>(parse_geojson_geometry(samples[0]));
  EXPECT_EQ(point.position, (Position{0.1, 123456.789}));
}

TEST(AnnotationGeometry, accepts_integer_coordinates_and_drops_an_altitude) {
  const Geometry g =
      parse_geojson_geometry(json::parse(R"({"type": "LineString", "coordinates": [[1, 2, 0], [3, 4]]})"));
  EXPECT_EQ(std::get<LineString>(g).positions, (std::vector<Position>{{1, 2}, {3, 4}}));
}

TEST(AnnotationGeometry, rejects_unknown_type_naming_it) {
  EXPECT_EQ(parse_error(json::parse(R"({"type": "GeometryCollection", "geometries": []})")),
            "unsupported geometry type 'GeometryCollection' (expected Point, MultiPoint, LineString, Polygon or "
            "MultiPolygon)");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "polygon", "coordinates": []})"))
                .rfind("unsupported geometry type 'polygon'", 0),
            0u);
  EXPECT_EQ(parse_error(json::parse(R"({"coordinates": [1, 2]})")), "geometry has no \"type\" string");
  EXPECT_EQ(parse_error(json::parse(R"([1, 2])")), "geometry must be a JSON object");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Point"})")), "Point has no \"coordinates\"");
}

TEST(AnnotationGeometry, rejects_unclosed_ring_naming_the_ring) {
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10]]]})")),
            "Polygon ring 0 is not closed (first and last positions differ)");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Polygon", "coordinates": [
                                          [[0, 0], [10, 0], [10, 10], [0, 0]],
                                          [[1, 1], [2, 1], [2, 2], [1, 2]]]})")),
            "Polygon ring 1 is not closed (first and last positions differ)");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "MultiPolygon", "coordinates": [
                                          [[[0, 0], [10, 0], [10, 10], [0, 0]]],
                                          [[[0, 0], [10, 0], [10, 10], [0, 1]]]]})")),
            "MultiPolygon polygon 1 ring 0 is not closed (first and last positions differ)");
}

TEST(AnnotationGeometry, rejects_rings_of_fewer_than_four_positions) {
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 0]]]})")),
            "Polygon ring 0 has 3 positions; a ring needs at least 4 (3 corners and the first repeated to close it)");
}

TEST(AnnotationGeometry, rejects_empty_geometries) {
  EXPECT_EQ(parse_error(json::parse(R"({"type": "LineString", "coordinates": [[0, 0]]})")),
            "LineString has 1 position(s); it needs at least 2");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "MultiPoint", "coordinates": []})")), "MultiPoint is empty");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Polygon", "coordinates": []})")), "Polygon has no rings");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "MultiPolygon", "coordinates": []})")), "MultiPolygon is empty");
}

TEST(AnnotationGeometry, rejects_wrong_nesting) {
  // A Polygon written with LineString nesting, the commonest hand-written mistake.
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 0]]})")),
            "Polygon ring 0 position 0 must be an array [x, y]");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Point", "coordinates": [[1, 2]]})")),
            "Point must have 2 coordinates [x, y] (it has 1)");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "MultiPolygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})")),
            "MultiPolygon polygon 0 ring 0 position 0 must be an array [x, y]");
  EXPECT_EQ(parse_error(json::parse(R"({"type": "LineString", "coordinates": {"x": 1}})")),
            "LineString must be an array of positions");
}

TEST(AnnotationGeometry, rejects_non_numeric_coordinates) {
  EXPECT_EQ(parse_error(json::parse(R"({"type": "LineString", "coordinates": [[0, 0], [1, "2"]]})")),
            "LineString position 1: y is not a number");
  // nlohmann writes NaN and infinity as null; reading them back must not yield 0.
  EXPECT_EQ(parse_error(json::parse(R"({"type": "Point", "coordinates": [null, 2]})")), "Point: x is not a number");
}

TEST(AnnotationGeometry, rejects_non_finite_coordinates) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(parse_error(json{{"type", "Point"}, {"coordinates", {nan, 1.0}}}), "Point: x is not a finite number");
  EXPECT_EQ(parse_error(json{{"type", "MultiPoint"}, {"coordinates", {{1.0, 1.0}, {1.0, -inf}}}}),
            "MultiPoint position 1: y is not a finite number");
  EXPECT_THROW(validate(LineString{{{0, 0}, {inf, 0}}}), GeometryError);
}

TEST(AnnotationGeometry, validates_geometry_built_in_code) {
  EXPECT_NO_THROW(validate(Polygon{{rectangle(0, 0, 10, 10)}}));
  try {
    validate(MultiPolygon{{Polygon{{rectangle(0, 0, 10, 10)}}, Polygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}}});
    ADD_FAILURE() << "an open ring passed validation";
  } catch (const GeometryError& e) {
    EXPECT_STREQ(e.what(), "MultiPolygon polygon 1 ring 0 is not closed (first and last positions differ)");
  }
}

TEST(AnnotationGeometry, counts_every_vertex_including_ring_closures) {
  EXPECT_EQ(vertex_count(Point{{1, 2}}), 1u);
  EXPECT_EQ(vertex_count(LineString{{{0, 0}, {1, 1}, {2, 2}}}), 3u);
  EXPECT_EQ(vertex_count(Polygon{{rectangle(0, 0, 10, 10), rectangle(2, 2, 1, 1)}}), 10u);
  EXPECT_EQ(vertex_count(MultiPolygon{{Polygon{{rectangle(0, 0, 1, 1)}}, Polygon{{rectangle(5, 5, 1, 1)}}}}), 10u);
}

TEST(AnnotationGeometry, bounds_cover_every_position) {
  EXPECT_EQ(bounds(Point{{3, 4}}), (Bounds{3, 4, 3, 4}));
  EXPECT_EQ(bounds(LineString{{{5, -2}, {-1, 7}, {2, 2}}}), (Bounds{-1, -2, 5, 7}));
  EXPECT_EQ(bounds(MultiPolygon{{Polygon{{rectangle(0, 0, 1, 1)}}, Polygon{{rectangle(5, 6, 2, 3)}}}}),
            (Bounds{0, 0, 7, 9}));
}

TEST(AnnotationGeometry, intersects_the_slide_unless_entirely_outside) {
  const double w = 1000, h = 800;
  EXPECT_TRUE(intersects_rect(Polygon{{rectangle(10, 10, 20, 20)}}, w, h));
  EXPECT_TRUE(intersects_rect(Polygon{{rectangle(-50, -50, 100, 100)}}, w, h));  // straddles the corner
  EXPECT_TRUE(intersects_rect(Point{{1000, 800}}, w, h));                        // on the far corner
  EXPECT_FALSE(intersects_rect(Point{{1000.5, 10}}, w, h));                      // right of it
  EXPECT_FALSE(intersects_rect(Polygon{{rectangle(10, 801, 5, 5)}}, w, h));      // below
  EXPECT_FALSE(intersects_rect(LineString{{{-10, 5}, {-1, 500}}}, w, h));        // left
  EXPECT_FALSE(intersects_rect(MultiPoint{{{5, -3}, {900, -0.01}}}, w, h));      // above
}

TEST(AnnotationGeometry, measures_a_rectangle_at_a_quarter_micron_per_pixel) {
  // 1000 x 500 px at 0.25 um/px is 250 x 125 um: 31,250 um2 = 0.03125 mm2, perimeter 750 um.
  const Measurement m = measure(Polygon{{rectangle(100, 200, 1000, 500)}}, 0.25, 0.25);
  ASSERT_TRUE(m.area_mm2 && m.length_um);
  EXPECT_DOUBLE_EQ(*m.area_mm2, 0.03125);
  EXPECT_DOUBLE_EQ(*m.length_um, 750);
}

TEST(AnnotationGeometry, measures_a_three_four_five_line) {
  const Measurement m = measure(LineString{{{10, 10}, {13, 14}}}, 1, 1);
  ASSERT_TRUE(m.length_um);
  EXPECT_DOUBLE_EQ(*m.length_um, 5);
  EXPECT_FALSE(m.area_mm2);
  // A polyline sums its segments: 5 + 5 at 0.5 um/px.
  EXPECT_DOUBLE_EQ(*measure(LineString{{{0, 0}, {3, 4}, {6, 0}}}, 0.5, 0.5).length_um, 5);
}

TEST(AnnotationGeometry, scales_x_and_y_separately_for_anisotropic_pixels) {
  // (3, 4) px at 2 um/px across and 0.5 um/px down is (6, 2) um: sqrt(40) um, not 5 px times either MPP.
  EXPECT_DOUBLE_EQ(*measure(LineString{{{0, 0}, {3, 4}}}, 2, 0.5).length_um, std::sqrt(40.0));
  // 1000 x 500 px at 0.25 x 0.5 um/px is a 250 um square: 0.0625 mm2, perimeter 1000 um.
  const Measurement m = measure(Polygon{{rectangle(0, 0, 1000, 500)}}, 0.25, 0.5);
  EXPECT_DOUBLE_EQ(*m.area_mm2, 0.0625);
  EXPECT_DOUBLE_EQ(*m.length_um, 1000);
}

TEST(AnnotationGeometry, subtracts_holes_from_the_area_and_leaves_them_out_of_the_perimeter) {
  // 400 x 400 px outer with a 100 x 200 px hole at 0.5 um/px: (160,000 - 20,000) * 0.25 um2 = 0.035 mm2.
  const Measurement m = measure(Polygon{{rectangle(0, 0, 400, 400), rectangle(50, 50, 100, 200)}}, 0.5, 0.5);
  EXPECT_DOUBLE_EQ(*m.area_mm2, 0.035);
  EXPECT_DOUBLE_EQ(*m.length_um, 800);
}

TEST(AnnotationGeometry, sums_the_polygons_of_a_multipolygon) {
  // 100 x 100 and 200 x 50 px at 1 um/px: 20,000 um2 = 0.02 mm2; perimeters 400 + 500 um.
  const Measurement m =
      measure(MultiPolygon{{Polygon{{rectangle(0, 0, 100, 100)}}, Polygon{{rectangle(500, 500, 200, 50)}}}}, 1, 1);
  EXPECT_DOUBLE_EQ(*m.area_mm2, 0.02);
  EXPECT_DOUBLE_EQ(*m.length_um, 900);
}

TEST(AnnotationGeometry, measures_clockwise_and_counter_clockwise_rings_alike) {
  Ring clockwise = rectangle(0, 0, 10, 20);
  Ring counter(clockwise.rbegin(), clockwise.rend());
  EXPECT_DOUBLE_EQ(*measure(Polygon{{clockwise}}, 1, 1).area_mm2, 200e-6);
  EXPECT_DOUBLE_EQ(*measure(Polygon{{counter}}, 1, 1).area_mm2, 200e-6);
}

TEST(AnnotationGeometry, points_measure_nothing) {
  const Measurement point = measure(Point{{1, 1}}, 0.25, 0.25);
  EXPECT_FALSE(point.length_um);
  EXPECT_FALSE(point.area_mm2);
  const Measurement points = measure(MultiPoint{{{1, 1}, {5, 5}}}, 0.25, 0.25);
  EXPECT_FALSE(points.length_um);
  EXPECT_FALSE(points.area_mm2);
}

TEST(AnnotationGeometry, measures_nothing_without_a_calibration) {
  const Polygon square{{rectangle(0, 0, 10, 10)}};
  for (const double mpp : {0.0, -0.25, std::numeric_limits<double>::quiet_NaN()}) {
    const Measurement m = measure(square, mpp, 0.25);
    EXPECT_FALSE(m.length_um) << mpp;
    EXPECT_FALSE(m.area_mm2) << mpp;
  }
}

}  // namespace
}  // namespace reread::annotation
