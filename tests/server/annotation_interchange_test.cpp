// Annotation interchange: files as QuPath, ASAP and Aperio ImageScope write them, round trips through each
// format, and every refusal with a message that names the offending feature.
#include "annotation_interchange.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace reread::annotation {
namespace {

constexpr InterchangeFormat all_formats[] = {InterchangeFormat::qupath_geojson, InterchangeFormat::asap_xml,
                                             InterchangeFormat::imagescope_xml};

// A 40x slide as the demo writes it.
const ImportLimits slide{20000, 16000};

Ring rectangle(double x, double y, double w, double h) {
  return {{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}, {x, y}};
}

// The message of the InterchangeError that importing text throws; a test failure when it imports.
std::string import_error(std::string_view text, InterchangeFormat format, const ImportLimits& limits = slide) {
  try {
    const auto annotations = import_annotations(text, format, limits);
    ADD_FAILURE() << "expected an InterchangeError from " << interchange_format_name(format) << ", got "
                  << annotations.size() << " annotations";
  } catch (const InterchangeError& e) {
    return e.what();
  }
  return {};
}

void expect_contains(const std::string& message, std::string_view fragment) {
  EXPECT_NE(message.find(fragment), std::string::npos) << "expected \"" << fragment << "\" in: " << message;
}

TEST(AnnotationInterchange, parses_format_names) {
  EXPECT_EQ(parse_interchange_format("geojson"), InterchangeFormat::qupath_geojson);
  EXPECT_EQ(parse_interchange_format("qupath"), InterchangeFormat::qupath_geojson);
  EXPECT_EQ(parse_interchange_format("ASAP"), InterchangeFormat::asap_xml);
  EXPECT_EQ(parse_interchange_format("imagescope"), InterchangeFormat::imagescope_xml);
  EXPECT_EQ(parse_interchange_format("ndpa"), std::nullopt);
  EXPECT_EQ(parse_interchange_format(""), std::nullopt);
  for (const InterchangeFormat f : all_formats) EXPECT_EQ(parse_interchange_format(interchange_format_name(f)), f);
}

// ---- QuPath GeoJSON --------------------------------------------------------------------------------------

// File > Export objects as GeoJSON in QuPath 0.4/0.5 ("Pretty JSON", annotations only).
constexpr std::string_view qupath_export = R"({
  "type": "FeatureCollection",
  "features": [
    {
      "type": "Feature",
      "id": "5a4a5c0e-6c3b-4a7f-9b5e-0c5e4f2d9a11",
      "geometry": {
        "type": "Polygon",
        "coordinates": [
          [
            [12050, 8020],
            [12980.5, 8020],
            [12980.5, 8610.25],
            [12050, 8610.25],
            [12050, 8020]
          ]
        ]
      },
      "properties": {
        "objectType": "annotation",
        "name": "tumour front",
        "classification": {
          "name": "Tumor",
          "color": [200, 0, 0]
        },
        "isLocked": true
      }
    },
    {
      "type": "Feature",
      "id": "0b9d2f3e-1d6a-4c55-8f0e-2a7b3c4d5e6f",
      "geometry": {
        "type": "LineString",
        "coordinates": [[3000, 4000], [3300, 4400]]
      },
      "properties": {
        "objectType": "annotation",
        "measurements": {"Length px": 500}
      }
    },
    {
      "type": "Feature",
      "id": "c7e1a2b3-4d5e-6f70-8192-a3b4c5d6e7f8",
      "geometry": {
        "type": "MultiPoint",
        "coordinates": [[100.5, 200.5], [110.5, 210.5]]
      },
      "properties": {
        "objectType": "annotation",
        "name": "mitoses",
        "color": [255, 255, 0],
        "classification": {"name": "Mitosis", "color": [0, 128, 255]},
        "description": "two in one HPF"
      }
    },
    {
      "type": "Feature",
      "id": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
      "geometry": {
        "type": "MultiPolygon",
        "coordinates": [
          [[[0, 0], [1000, 0], [1000, 1000], [0, 1000], [0, 0]], [[100, 100], [200, 100], [200, 200], [100, 100]]],
          [[[5000, 5000], [5100, 5000], [5100, 5100], [5000, 5000]]]
        ]
      },
      "properties": {
        "objectType": "annotation",
        "classification": {"names": ["Tumor", "Positive"], "color": [160, 20, 20]}
      }
    }
  ]
})";

TEST(AnnotationInterchange, imports_a_qupath_feature_collection_as_qupath_writes_it) {
  const auto annotations = import_annotations(qupath_export, InterchangeFormat::qupath_geojson, slide);
  ASSERT_EQ(annotations.size(), 4u);

  const InterchangeAnnotation& front = annotations[0];
  EXPECT_EQ(front.label, "tumour front");
  EXPECT_EQ(front.class_name, "Tumor");
  EXPECT_EQ(front.color, "#c80000");
  EXPECT_EQ(front.comment, "");
  EXPECT_EQ(front.geometry, Geometry(Polygon{{rectangle(12050, 8020, 930.5, 590.25)}}));

  const InterchangeAnnotation& line = annotations[1];
  EXPECT_EQ(line.label, "");
  EXPECT_EQ(line.class_name, "");
  EXPECT_EQ(line.color, "");
  EXPECT_EQ(line.geometry, Geometry(LineString{{{3000, 4000}, {3300, 4400}}}));

  // The object's own colour is what QuPath draws, so it wins over the class colour.
  const InterchangeAnnotation& mitoses = annotations[2];
  EXPECT_EQ(mitoses.class_name, "Mitosis");
  EXPECT_EQ(mitoses.color, "#ffff00");
  EXPECT_EQ(mitoses.comment, "two in one HPF");
  EXPECT_EQ(mitoses.geometry, Geometry(MultiPoint{{{100.5, 200.5}, {110.5, 210.5}}}));

  EXPECT_EQ(annotations[3].class_name, "Tumor: Positive");
  EXPECT_EQ(annotations[3].color, "#a01414");
  EXPECT_EQ(std::get<MultiPolygon>(annotations[3].geometry).polygons[0].rings.size(), 2u);
}

TEST(AnnotationInterchange, imports_qupath_0_2_arrays_with_packed_colours) {
  // QuPath 0.2 scripts wrote gson.toJson(annotations): a bare array, the type in "id", colours packed ARGB.
  constexpr std::string_view legacy = R"([
    {
      "type": "Feature",
      "id": "PathAnnotationObject",
      "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [90, 10], [90, 90], [10, 10]]]},
      "properties": {
        "classification": {"name": "Stroma", "colorRGB": -16744448},
        "isLocked": false,
        "measurements": []
      }
    },
    {
      "type": "Feature",
      "id": "PathAnnotationObject",
      "geometry": {"type": "Point", "coordinates": [5, 6]},
      "properties": {"name": "nerve", "color": 16711935, "comment": "perineural?"}
    }
  ])";
  const auto annotations = import_annotations(legacy, InterchangeFormat::qupath_geojson, slide);
  ASSERT_EQ(annotations.size(), 2u);
  EXPECT_EQ(annotations[0].class_name, "Stroma");
  EXPECT_EQ(annotations[0].color, "#008000");  // 0xFF008000: alpha dropped
  EXPECT_EQ(annotations[1].label, "nerve");
  EXPECT_EQ(annotations[1].color, "#ff00ff");
  EXPECT_EQ(annotations[1].comment, "perineural?");
}

TEST(AnnotationInterchange, imports_a_single_qupath_feature) {
  constexpr std::string_view one = R"({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
                                       "properties": {"objectType": "annotation", "name": "here"}})";
  const auto annotations = import_annotations(one, InterchangeFormat::qupath_geojson, slide);
  ASSERT_EQ(annotations.size(), 1u);
  EXPECT_EQ(annotations[0].label, "here");
  EXPECT_EQ(annotations[0].geometry, Geometry(Point{{1, 2}}));
}

TEST(AnnotationInterchange, refuses_qupath_detections_naming_the_feature) {
  constexpr std::string_view cells = R"({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {"objectType": "annotation"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3, 4]}, "properties": {"objectType": "cell"}}]})";
  expect_contains(import_error(cells, InterchangeFormat::qupath_geojson),
                  "feature 1: objectType 'cell' is not an annotation");
}

TEST(AnnotationInterchange, rejects_qupath_features_with_malformed_properties) {
  const auto feature_with = [](std::string_view properties) {
    return R"({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": )" +
           std::string(properties) + "}";
  };
  expect_contains(import_error(feature_with(R"({"classification": {"name": "T", "color": [300, 0, 0]}})"),
                               InterchangeFormat::qupath_geojson),
                  "feature 0: classification color must be [r, g, b] with components 0-255");
  expect_contains(import_error(feature_with(R"({"name": 7})"), InterchangeFormat::qupath_geojson),
                  "feature 0: properties.name must be a string");
  expect_contains(import_error(R"({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]})",
                               InterchangeFormat::qupath_geojson),
                  "feature 0 has no geometry");
  expect_contains(import_error(R"({"type": "Polygon", "coordinates": []})", InterchangeFormat::qupath_geojson),
                  "not QuPath GeoJSON");
}

// ---- ASAP ------------------------------------------------------------------------------------------------

// As ASAP 2.x saves a Camelyon-style file (tabs, float coordinates, groups after the annotations); the
// Polygon's coordinates are not in Order in the file, which ASAP allows.
constexpr std::string_view asap_file = R"(<?xml version="1.0"?>
<ASAP_Annotations>
	<Annotations>
		<Annotation Name="Annotation 0" Type="Polygon" PartOfGroup="Tumor" Color="#F4FA58">
			<Coordinates>
				<Coordinate Order="0" X="12040.5996" Y="8020.06982" />
				<Coordinate Order="2" X="12980.5" Y="8610" />
				<Coordinate Order="1" X="12980.5" Y="8020.06982" />
				<Coordinate Order="3" X="12040.5996" Y="8610" />
			</Coordinates>
		</Annotation>
		<Annotation Name="Annotation 1" Type="Dot" PartOfGroup="None" Color="#F4FA58">
			<Coordinates>
				<Coordinate Order="0" X="500" Y="600" />
			</Coordinates>
		</Annotation>
		<Annotation Name="mitoses" Type="PointSet" PartOfGroup="Mitosis" Color="#64FE2E">
			<Coordinates>
				<Coordinate Order="0" X="1.5" Y="2.5" />
				<Coordinate Order="1" X="3.5" Y="4.5" />
				<Coordinate Order="2" X="5.5" Y="6.5" />
			</Coordinates>
		</Annotation>
		<Annotation Name="Annotation 3" Type="Spline" PartOfGroup="Tumor" Color="#F4FA58">
			<Coordinates>
				<Coordinate Order="0" X="100" Y="100" />
				<Coordinate Order="1" X="200" Y="120" />
				<Coordinate Order="2" X="180" Y="220" />
				<Coordinate Order="3" X="90" Y="200" />
			</Coordinates>
		</Annotation>
		<Annotation Name="Annotation 4" Type="Rectangle" PartOfGroup="_2">
			<Coordinates>
				<Coordinate Order="0" X="0" Y="0" />
				<Coordinate Order="1" X="50" Y="0" />
				<Coordinate Order="2" X="50" Y="40" />
				<Coordinate Order="3" X="0" Y="40" />
			</Coordinates>
		</Annotation>
		<Annotation Name="depth" Type="Measurement" PartOfGroup="None" Color="#F4FA58">
			<Coordinates>
				<Coordinate Order="0" X="3000" Y="4000" />
				<Coordinate Order="1" X="3300" Y="4400" />
			</Coordinates>
		</Annotation>
	</Annotations>
	<AnnotationGroups>
		<Group Name="Tumor" PartOfGroup="None" Color="#FF0000">
			<Attributes />
		</Group>
		<Group Name="Mitosis" PartOfGroup="None" Color="#64FE2E">
			<Attributes />
		</Group>
		<Group Name="_2" PartOfGroup="None" Color="#00FF00">
			<Attributes />
		</Group>
	</AnnotationGroups>
</ASAP_Annotations>
)";

TEST(AnnotationInterchange, imports_an_asap_file_as_asap_writes_it) {
  const auto annotations = import_annotations(asap_file, InterchangeFormat::asap_xml, slide);
  ASSERT_EQ(annotations.size(), 6u);

  EXPECT_EQ(annotations[0].label, "Annotation 0");
  EXPECT_EQ(annotations[0].class_name, "Tumor");
  EXPECT_EQ(annotations[0].color, "#f4fa58");  // the annotation's own, lower case
  EXPECT_EQ(annotations[0].geometry, Geometry(Polygon{{{{12040.5996, 8020.06982},
                                                        {12980.5, 8020.06982},
                                                        {12980.5, 8610},
                                                        {12040.5996, 8610},
                                                        {12040.5996, 8020.06982}}}}));

  EXPECT_EQ(annotations[1].class_name, "");  // PartOfGroup="None"
  EXPECT_EQ(annotations[1].geometry, Geometry(Point{{500, 600}}));
  EXPECT_EQ(annotations[2].class_name, "Mitosis");
  EXPECT_EQ(annotations[2].geometry, Geometry(MultiPoint{{{1.5, 2.5}, {3.5, 4.5}, {5.5, 6.5}}}));
  // ASAP draws a Spline closed: an area, not a line.
  EXPECT_EQ(annotations[3].geometry, Geometry(Polygon{{{{100, 100}, {200, 120}, {180, 220}, {90, 200}, {100, 100}}}}));
  EXPECT_EQ(annotations[4].geometry, Geometry(Polygon{{rectangle(0, 0, 50, 40)}}));
  EXPECT_EQ(annotations[4].color, "#00ff00");  // no Color of its own: its group's
  EXPECT_EQ(annotations[5].label, "depth");
  EXPECT_EQ(annotations[5].geometry, Geometry(LineString{{{3000, 4000}, {3300, 4400}}}));
}

TEST(AnnotationInterchange, rejects_asap_coordinates_with_a_repeated_order) {
  constexpr std::string_view twice = R"(<ASAP_Annotations><Annotations>
    <Annotation Name="a" Type="Polygon" PartOfGroup="None"><Coordinates>
      <Coordinate Order="0" X="0" Y="0"/><Coordinate Order="1" X="9" Y="0"/><Coordinate Order="1" X="9" Y="9"/>
    </Coordinates></Annotation></Annotations></ASAP_Annotations>)";
  expect_contains(import_error(twice, InterchangeFormat::asap_xml),
                  "annotation 0 (name 'a'): coordinate Order 1 appears twice");
}

// ---- Aperio ImageScope -----------------------------------------------------------------------------------

// As ImageScope 12 saves it: a layer with a pen region and its negative pen hole, an ellipse and a
// rectangle; a ruler in a second layer; a third layer in blue.
constexpr std::string_view imagescope_file = R"(<?xml version="1.0" encoding="UTF-8"?>
<Annotations MicronsPerPixel="0.252100">
<Annotation Id="1" Name="Tumor" ReadOnly="0" NameReadOnly="0" LineColorReadOnly="0" Incremental="0" Type="4" LineColor="255" Visible="1" Selected="1" MarkupImagePath="" MacroName="">
	<Attributes>
		<Attribute Name="Description" Id="0" Value=""/>
	</Attributes>
	<Regions>
		<RegionAttributeHeaders>
			<AttributeHeader Id="9999" Name="Region" ColumnWidth="-1"/>
			<AttributeHeader Id="9997" Name="Length" ColumnWidth="-1"/>
			<AttributeHeader Id="9996" Name="Area" ColumnWidth="-1"/>
			<AttributeHeader Id="9998" Name="Text" ColumnWidth="-1"/>
			<AttributeHeader Id="1" Name="Description" ColumnWidth="-1"/>
		</RegionAttributeHeaders>
		<Region Id="1" Type="0" Zoom="0.042148" Selected="0" ImageLocation="" ImageFocus="-1" Length="4000.0" Area="1000000.0" LengthMicrons="1008.4" AreaMicrons="63555.2" Text="invasive front" NegativeROA="0" InputRegionId="0" Analyze="1" DisplayId="1">
			<Attributes/>
			<Vertices>
				<Vertex X="1000.000000" Y="1000.000000" Z="0"/>
				<Vertex X="2000.000000" Y="1000.000000" Z="0"/>
				<Vertex X="2000.000000" Y="2000.000000" Z="0"/>
				<Vertex X="1000.000000" Y="2000.000000" Z="0"/>
			</Vertices>
		</Region>
		<Region Id="2" Type="0" Zoom="0.042148" Selected="0" ImageLocation="" ImageFocus="-1" Length="800.0" Area="40000.0" LengthMicrons="201.7" AreaMicrons="2542.2" Text="" NegativeROA="1" InputRegionId="0" Analyze="1" DisplayId="2">
			<Attributes/>
			<Vertices>
				<Vertex X="1200" Y="1200" Z="0"/>
				<Vertex X="1400" Y="1200" Z="0"/>
				<Vertex X="1400" Y="1400" Z="0"/>
				<Vertex X="1200" Y="1400" Z="0"/>
			</Vertices>
		</Region>
		<Region Id="3" Type="2" Zoom="0.042148" Selected="0" ImageLocation="" ImageFocus="-1" Text="node" NegativeROA="0" InputRegionId="0" Analyze="1" DisplayId="3">
			<Attributes/>
			<Vertices>
				<Vertex X="5000" Y="5000" Z="0"/>
				<Vertex X="5400" Y="5200" Z="0"/>
			</Vertices>
		</Region>
		<Region Id="4" Type="1" Zoom="0.042148" Selected="0" ImageLocation="" ImageFocus="-1" Text="" NegativeROA="0" InputRegionId="0" Analyze="1" DisplayId="4">
			<Attributes/>
			<Vertices>
				<Vertex X="8000" Y="8000" Z="0"/>
				<Vertex X="8500" Y="8000" Z="0"/>
				<Vertex X="8500" Y="8300" Z="0"/>
				<Vertex X="8000" Y="8300" Z="0"/>
			</Vertices>
		</Region>
	</Regions>
	<Plots/>
</Annotation>
<Annotation Id="2" Name="Measurements" ReadOnly="0" NameReadOnly="0" LineColorReadOnly="0" Incremental="0" Type="4" LineColor="65280" Visible="1" Selected="0" MarkupImagePath="" MacroName="">
	<Attributes/>
	<Regions>
		<Region Id="1" Type="3" Zoom="0.5" Selected="0" ImageLocation="" ImageFocus="-1" Text="depth of invasion" NegativeROA="0" InputRegionId="0" Analyze="0" DisplayId="1">
			<Attributes/>
			<Vertices>
				<Vertex X="3000" Y="4000" Z="0"/>
				<Vertex X="3300" Y="4400" Z="0"/>
			</Vertices>
		</Region>
	</Regions>
	<Plots/>
</Annotation>
<Annotation Id="3" Name="Stroma" LineColor="16711680" Visible="1">
	<Regions>
		<Region Id="1" Type="0" Text="" NegativeROA="0">
			<Vertices>
				<Vertex X="10" Y="10" Z="0"/>
				<Vertex X="20" Y="10" Z="0"/>
				<Vertex X="20" Y="20" Z="0"/>
				<Vertex X="10" Y="10" Z="0"/>
			</Vertices>
		</Region>
	</Regions>
</Annotation>
</Annotations>
)";

TEST(AnnotationInterchange, imports_an_imagescope_file_as_imagescope_writes_it) {
  const auto annotations = import_annotations(imagescope_file, InterchangeFormat::imagescope_xml, slide);
  ASSERT_EQ(annotations.size(), 5u);  // the negative region is a hole, not an annotation

  const InterchangeAnnotation& front = annotations[0];
  EXPECT_EQ(front.class_name, "Tumor");
  EXPECT_EQ(front.label, "invasive front");
  EXPECT_EQ(front.color, "#ff0000");  // LineColor 255 is red: ImageScope stores 0xBBGGRR
  EXPECT_EQ(front.geometry, Geometry(Polygon{{rectangle(1000, 1000, 1000, 1000), rectangle(1200, 1200, 200, 200)}}));

  // The ellipse in its 400 x 200 px bounding box, as a 64-gon: area within 0.2% of pi * 200 * 100.
  const auto& node = std::get<Polygon>(annotations[1].geometry);
  EXPECT_EQ(annotations[1].label, "node");
  ASSERT_EQ(node.rings.size(), 1u);
  EXPECT_EQ(node.rings[0].size(), 65u);
  EXPECT_EQ(bounds(node), (Bounds{5000, 5000, 5400, 5200}));
  EXPECT_NEAR(*measure(node, 1, 1).area_mm2 * 1e6, std::numbers::pi * 200 * 100, std::numbers::pi * 200 * 100 * 0.002);

  EXPECT_EQ(annotations[2].geometry, Geometry(Polygon{{rectangle(8000, 8000, 500, 300)}}));

  EXPECT_EQ(annotations[3].class_name, "Measurements");
  EXPECT_EQ(annotations[3].color, "#00ff00");
  EXPECT_EQ(annotations[3].label, "depth of invasion");
  EXPECT_EQ(annotations[3].geometry, Geometry(LineString{{{3000, 4000}, {3300, 4400}}}));

  // A ring already closed in the file is not closed twice.
  EXPECT_EQ(annotations[4].color, "#0000ff");
  EXPECT_EQ(annotations[4].geometry, Geometry(Polygon{{{{10, 10}, {20, 10}, {20, 20}, {10, 10}}}}));
}

std::string imagescope_with_regions(std::string_view regions) {
  return R"(<Annotations><Annotation Id="1" Name="Tumor" LineColor="255"><Regions>)" + std::string(regions) +
         "</Regions></Annotation></Annotations>";
}

TEST(AnnotationInterchange, rejects_a_negative_region_outside_every_positive_region) {
  const std::string file = imagescope_with_regions(R"(
    <Region Id="1" Type="0" Text="tumour" NegativeROA="0"><Vertices>
      <Vertex X="0" Y="0"/><Vertex X="100" Y="0"/><Vertex X="100" Y="100"/><Vertex X="0" Y="100"/></Vertices></Region>
    <Region Id="2" Type="0" Text="" NegativeROA="1"><Vertices>
      <Vertex X="500" Y="500"/><Vertex X="600" Y="500"/><Vertex X="600" Y="600"/></Vertices></Region>)");
  expect_contains(import_error(file, InterchangeFormat::imagescope_xml),
                  "annotation 0 (name 'Tumor') region 1: the negative region (NegativeROA=1) lies inside no preceding "
                  "positive region");
}

TEST(AnnotationInterchange, attaches_a_negative_region_to_the_positive_region_that_contains_it) {
  // Two tumour regions, then a hole in the first: it belongs to the one containing it, not the latest.
  const std::string file = imagescope_with_regions(R"(
    <Region Id="1" Type="1" NegativeROA="0"><Vertices>
      <Vertex X="0" Y="0"/><Vertex X="100" Y="0"/><Vertex X="100" Y="100"/><Vertex X="0" Y="100"/></Vertices></Region>
    <Region Id="2" Type="1" NegativeROA="0"><Vertices>
      <Vertex X="500" Y="500"/><Vertex X="600" Y="500"/><Vertex X="600" Y="600"/><Vertex X="500" Y="600"/></Vertices></Region>
    <Region Id="3" Type="2" NegativeROA="1"><Vertices><Vertex X="10" Y="10"/><Vertex X="30" Y="20"/></Vertices></Region>)");
  const auto annotations = import_annotations(file, InterchangeFormat::imagescope_xml, slide);
  ASSERT_EQ(annotations.size(), 2u);
  EXPECT_EQ(std::get<Polygon>(annotations[0].geometry).rings.size(), 2u);
  EXPECT_EQ(std::get<Polygon>(annotations[1].geometry).rings.size(), 1u);
}

// ---- Round trips -----------------------------------------------------------------------------------------

// One of every geometry, with coordinates that only survive if numbers are written to full precision.
std::vector<InterchangeAnnotation> case_annotations() {
  return {
      {Polygon{{rectangle(12050.123456789, 8020.5, 930.25, 590.125), rectangle(12100, 8100, 50.5, 60.75)}}, "Tumor",
       "#c80000", "tumour front", "pT2 at this edge"},
      {MultiPolygon{{Polygon{{rectangle(100, 100, 200, 200)}}, Polygon{{rectangle(1000.1, 1000.2, 10.3, 10.4)}}}},
       "Tumor", "#c80000", "satellites", ""},
      {LineString{{{3000, 4000}, {3300, 4400}}}, "Measurement", "#00ff00", "depth of invasion", ""},
      {LineString{{{10.5, 20.25}, {30.125, 40.0625}, {50, 60}, {70.1, 80.2}}}, "Margin", "#0000ff", "", ""},
      {Point{{0.1, 0.2}}, "", "#123456", "nerve", "perineural?"},
      {MultiPoint{{{15000.3333333333, 12000.6666666667}, {15010, 12010}}}, "Mitosis", "", "mitoses", ""},
  };
}

TEST(AnnotationInterchange, round_trips_everything_through_qupath_geojson) {
  const auto annotations = case_annotations();
  const std::string file = export_annotations(annotations, InterchangeFormat::qupath_geojson);
  EXPECT_EQ(import_annotations(file, InterchangeFormat::qupath_geojson, slide), annotations) << file;
}

TEST(AnnotationInterchange, round_trips_through_asap_within_what_it_can_say) {
  const auto annotations = case_annotations();
  const std::string file = export_annotations(annotations, InterchangeFormat::asap_xml);
  const auto back = import_annotations(file, InterchangeFormat::asap_xml, slide);

  // ASAP has no holes and no multipolygons: the outer ring, then one annotation per polygon. No comments.
  std::vector<InterchangeAnnotation> expected;
  for (InterchangeAnnotation a : annotations) {
    a.comment.clear();
    if (auto* polygon = std::get_if<Polygon>(&a.geometry)) polygon->rings.resize(1);
    if (const auto* multi = std::get_if<MultiPolygon>(&a.geometry)) {
      for (const Polygon& p : multi->polygons) expected.push_back({p, a.class_name, a.color, a.label, ""});
      continue;
    }
    expected.push_back(a);
  }
  EXPECT_EQ(back, expected) << file;

  // The types ASAP knows, and its group list.
  for (const std::string_view fragment :
       {R"(Type="Polygon" PartOfGroup="Tumor" Color="#c80000")", R"(Type="Measurement")", R"(Type="Polyline")",
        R"(Type="Dot" PartOfGroup="None")", R"(Type="PointSet")",
        R"(<Group Name="Tumor" PartOfGroup="None" Color="#c80000")", R"(<Group Name="Mitosis" PartOfGroup="None">)",
        R"(<Coordinate Order="0" X="12050.123456789" Y="8020.5" />)"}) {
    expect_contains(file, fragment);
  }
}

TEST(AnnotationInterchange, round_trips_through_imagescope_within_what_it_can_say) {
  auto annotations = case_annotations();
  std::erase_if(annotations, [](const InterchangeAnnotation& a) {
    return std::holds_alternative<Point>(a.geometry) || std::holds_alternative<MultiPoint>(a.geometry);
  });
  const std::string file = export_annotations(annotations, InterchangeFormat::imagescope_xml);
  const auto back = import_annotations(file, InterchangeFormat::imagescope_xml, slide);

  // Regions come back layer by layer (one layer per class), a MultiPolygon as one region per polygon, with
  // holes kept as negative regions. No comments.
  const std::vector<InterchangeAnnotation> expected = {
      {std::get<Polygon>(annotations[0].geometry), "Tumor", "#c80000", "tumour front", ""},
      {std::get<MultiPolygon>(annotations[1].geometry).polygons[0], "Tumor", "#c80000", "satellites", ""},
      {std::get<MultiPolygon>(annotations[1].geometry).polygons[1], "Tumor", "#c80000", "satellites", ""},
      {annotations[2].geometry, "Measurement", "#00ff00", "depth of invasion", ""},
      {annotations[3].geometry, "Margin", "#0000ff", "", ""},
  };
  EXPECT_EQ(back, expected) << file;
  // #c80000 is 200 and #0000ff 16711680 in ImageScope's byte order (red in the low byte).
  expect_contains(
      file,
      R"(Name="Tumor" ReadOnly="0" NameReadOnly="0" LineColorReadOnly="0" Incremental="0" Type="4" LineColor="200")");
  expect_contains(file, R"(LineColor="16711680")");
  expect_contains(file, R"(Type="0" Zoom="1" Selected="0" ImageLocation="" ImageFocus="-1" Text="" NegativeROA="1")");
}

TEST(AnnotationInterchange, imagescope_export_refuses_points) {
  const std::vector<InterchangeAnnotation> points = {{Point{{1, 2}}, "", "", "", ""}};
  try {
    export_annotations(points, InterchangeFormat::imagescope_xml);
    ADD_FAILURE() << "ImageScope export accepted a point";
  } catch (const InterchangeError& e) {
    EXPECT_STREQ(e.what(), "annotation 0 is a Point: ImageScope XML has no point regions");
  }
}

TEST(AnnotationInterchange, export_refuses_a_colour_that_is_not_hex_rgb) {
  const std::vector<InterchangeAnnotation> red = {{Point{{1, 2}}, "", "red", "", ""}};
  for (const InterchangeFormat f : {InterchangeFormat::qupath_geojson, InterchangeFormat::asap_xml}) {
    EXPECT_THROW(export_annotations(red, f), InterchangeError) << interchange_format_name(f);
  }
}

TEST(AnnotationInterchange, exports_an_empty_list_that_imports_as_empty) {
  for (const InterchangeFormat f : all_formats) {
    EXPECT_TRUE(import_annotations(export_annotations({}, f), f, slide).empty()) << interchange_format_name(f);
  }
}

// ---- Refusals --------------------------------------------------------------------------------------------

TEST(AnnotationInterchange, rejects_malformed_json_with_the_parser_offset) {
  const std::string message =
      import_error(R"({"type": "FeatureCollection", "features": [})", InterchangeFormat::qupath_geojson);
  expect_contains(message, "malformed JSON at byte 44: ");
  expect_contains(message, "syntax error");
  // A number beyond double range is no coordinate either.
  expect_contains(import_error(R"([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e400, 2]}}])",
                               InterchangeFormat::qupath_geojson),
                  "malformed JSON: ");
}

TEST(AnnotationInterchange, rejects_malformed_xml_with_the_parser_offset) {
  expect_contains(import_error("<ASAP_Annotations><Annotations></ASAP_Annotations>", InterchangeFormat::asap_xml),
                  "malformed XML at byte 33: Start-end tags mismatch");
  expect_contains(import_error("<Annotations><Annotation Name=\"x></Annotations>", InterchangeFormat::imagescope_xml),
                  "malformed XML at byte");
  expect_contains(import_error("", InterchangeFormat::asap_xml), "malformed XML at byte 0: No document element found");
}

TEST(AnnotationInterchange, rejects_a_file_of_another_format) {
  expect_contains(import_error(asap_file, InterchangeFormat::imagescope_xml),
                  "not an ImageScope annotation file: the root element is <ASAP_Annotations>, expected <Annotations>");
  expect_contains(import_error(imagescope_file, InterchangeFormat::asap_xml),
                  "not an ASAP annotation file: the root element is <Annotations>");
}

TEST(AnnotationInterchange, rejects_unclosed_ring_naming_the_feature) {
  // The whole file is refused for one bad feature: nothing half-imported.
  const std::string file = R"({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {"objectType": "annotation"}},
    {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10]]]},
     "properties": {"objectType": "annotation", "name": "tumour front"}}]})";
  EXPECT_EQ(import_error(file, InterchangeFormat::qupath_geojson),
            "feature 1 (label 'tumour front'): Polygon ring 0 is not closed (first and last positions differ)");
}

TEST(AnnotationInterchange, rejects_non_finite_and_unparsable_coordinates_naming_the_feature) {
  EXPECT_EQ(import_error(R"([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [null, 2]}}])",
                         InterchangeFormat::qupath_geojson),
            "feature 0: Point: x is not a number");

  const auto asap_with = [](std::string_view x) {
    return R"(<ASAP_Annotations><Annotations><Annotation Name="A" Type="Polyline" PartOfGroup="None"><Coordinates>
      <Coordinate Order="0" X="1" Y="1"/><Coordinate Order="1" X=")" +
           std::string(x) + R"(" Y="2"/></Coordinates></Annotation></Annotations></ASAP_Annotations>)";
  };
  EXPECT_EQ(import_error(asap_with("nan"), InterchangeFormat::asap_xml),
            "annotation 0 (name 'A') coordinate 1: X 'nan' is not a finite number");
  EXPECT_EQ(import_error(asap_with("inf"), InterchangeFormat::asap_xml),
            "annotation 0 (name 'A') coordinate 1: X 'inf' is not a finite number");
  EXPECT_EQ(import_error(asap_with("1e999"), InterchangeFormat::asap_xml),
            "annotation 0 (name 'A') coordinate 1: X '1e999' is not a finite number");
  EXPECT_EQ(import_error(asap_with("12,5"), InterchangeFormat::asap_xml),
            "annotation 0 (name 'A') coordinate 1: X '12,5' is not a finite number");

  const std::string imagescope = imagescope_with_regions(R"(<Region Id="1" Type="3" Text="ruler"><Vertices>
      <Vertex X="1" Y="1"/><Vertex X="2" Y="-infinity"/></Vertices></Region>)");
  EXPECT_EQ(import_error(imagescope, InterchangeFormat::imagescope_xml),
            "annotation 0 (name 'Tumor') region 0 (text 'ruler') vertex 1: Y '-infinity' is not a finite number");
  const std::string missing = imagescope_with_regions(R"(<Region Id="1" Type="3"><Vertices>
      <Vertex X="1" Y="1"/><Vertex X="2"/></Vertices></Region>)");
  EXPECT_EQ(import_error(missing, InterchangeFormat::imagescope_xml),
            "annotation 0 (name 'Tumor') region 0 vertex 1 has no Y");
}

TEST(AnnotationInterchange, rejects_geometry_entirely_outside_the_slide_naming_the_feature) {
  const std::vector<InterchangeAnnotation> outside = {
      {Polygon{{rectangle(10, 10, 20, 20)}}, "Tumor", "#ff0000", "inside", ""},
      {Polygon{{rectangle(20100, 500, 100, 100)}}, "Tumor", "#ff0000", "beyond the right edge", ""},
  };
  const std::string messages[] = {
      import_error(export_annotations(outside, InterchangeFormat::qupath_geojson), InterchangeFormat::qupath_geojson),
      import_error(export_annotations(outside, InterchangeFormat::asap_xml), InterchangeFormat::asap_xml),
      import_error(export_annotations(outside, InterchangeFormat::imagescope_xml), InterchangeFormat::imagescope_xml),
  };
  EXPECT_EQ(messages[0],
            "feature 1 (label 'beyond the right edge'): the Polygon lies entirely outside the 20000 x 16000 px slide "
            "(x 20100..20200, y 500..600)");
  expect_contains(messages[1], "annotation 1 (name 'beyond the right edge'): the Polygon lies entirely outside");
  expect_contains(messages[2],
                  "annotation 0 (name 'Tumor') region 1 (text 'beyond the right edge'): the Polygon lies entirely "
                  "outside");
}

TEST(AnnotationInterchange, rejects_more_than_a_million_vertices) {
  // Two features of 500,001 points each: neither is over the limit alone, the file is.
  std::string file = R"({"type": "FeatureCollection", "features": [)";
  for (int f = 0; f < 2; ++f) {
    file += f ? "," : "";
    file += R"({"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [)";
    for (int i = 0; i < 500'001; ++i) file += i ? ",[1,2]" : "[1,2]";
    file += R"(]}, "properties": {"name": "cells )" + std::to_string(f) + R"("}})";
  }
  file += "]}";
  EXPECT_EQ(import_error(file, InterchangeFormat::qupath_geojson),
            "feature 1 (label 'cells 1'): the file holds more than 1000000 vertices, the import limit");
}

TEST(AnnotationInterchange, rejects_files_over_the_vertex_limit_in_every_format) {
  ImportLimits small = slide;
  small.max_vertices = 12;
  // Two 5-position squares (ring closure counted), then a third one over the limit; ImageScope also counts
  // the hole's vertices.
  const std::vector<InterchangeAnnotation> squares = {
      {Polygon{{rectangle(0, 0, 10, 10)}}, "Tumor", "", "a", ""},
      {Polygon{{rectangle(20, 20, 10, 10)}}, "Tumor", "", "b", ""},
      {Polygon{{rectangle(40, 40, 10, 10)}}, "Tumor", "", "c", ""},
  };
  EXPECT_EQ(import_error(export_annotations(squares, InterchangeFormat::qupath_geojson),
                         InterchangeFormat::qupath_geojson, small),
            "feature 2 (label 'c'): the file holds more than 12 vertices, the import limit");
  expect_contains(
      import_error(export_annotations(squares, InterchangeFormat::asap_xml), InterchangeFormat::asap_xml, small),
      "annotation 2 (name 'c'): the file holds more than 12 vertices");
  expect_contains(import_error(export_annotations(squares, InterchangeFormat::imagescope_xml),
                               InterchangeFormat::imagescope_xml, small),
                  "annotation 0 (name 'Tumor') region 2 (text 'c'): the file holds more than 12 vertices");

  const std::vector<InterchangeAnnotation> holed = {
      {Polygon{{rectangle(0, 0, 100, 100), rectangle(10, 10, 10, 10), rectangle(50, 50, 10, 10)}}, "T", "", "", ""}};
  expect_contains(import_error(export_annotations(holed, InterchangeFormat::imagescope_xml),
                               InterchangeFormat::imagescope_xml, small),
                  "annotation 0 (name 'T') region 2: the file holds more than 12 vertices");
}

TEST(AnnotationInterchange, rejects_unknown_types_naming_the_feature) {
  expect_contains(import_error(R"([{"type": "Feature", "properties": {"name": "mixed"},
                        "geometry": {"type": "GeometryCollection", "geometries": []}}])",
                               InterchangeFormat::qupath_geojson),
                  "feature 0 (label 'mixed'): unsupported geometry type 'GeometryCollection'");
  expect_contains(import_error(R"(<ASAP_Annotations><Annotations>
      <Annotation Name="blob" Type="Ellipse" PartOfGroup="None"><Coordinates>
        <Coordinate Order="0" X="1" Y="1"/></Coordinates></Annotation></Annotations></ASAP_Annotations>)",
                               InterchangeFormat::asap_xml),
                  "annotation 0 (name 'blob'): unknown annotation Type 'Ellipse'");
  expect_contains(import_error(imagescope_with_regions(R"(<Region Id="1" Type="7" Text="pin"><Vertices>
                                   <Vertex X="1" Y="1"/></Vertices></Region>)"),
                               InterchangeFormat::imagescope_xml),
                  "annotation 0 (name 'Tumor') region 0 (text 'pin'): unknown region Type 7");
}

TEST(AnnotationInterchange, rejects_shapes_with_too_few_points_naming_the_feature) {
  expect_contains(import_error(R"(<ASAP_Annotations><Annotations>
      <Annotation Name="sliver" Type="Polygon" PartOfGroup="None"><Coordinates>
        <Coordinate Order="0" X="1" Y="1"/><Coordinate Order="1" X="5" Y="5"/></Coordinates></Annotation>
      </Annotations></ASAP_Annotations>)",
                               InterchangeFormat::asap_xml),
                  "annotation 0 (name 'sliver'): a Polygon needs at least 3 coordinates, this one has 2");
  expect_contains(import_error(imagescope_with_regions(R"(<Region Id="1" Type="3"><Vertices>
                                   <Vertex X="1" Y="1"/></Vertices></Region>)"),
                               InterchangeFormat::imagescope_xml),
                  "annotation 0 (name 'Tumor') region 0: LineString has 1 position(s); it needs at least 2");
}

TEST(AnnotationInterchange, rejects_colours_it_cannot_read) {
  expect_contains(import_error(R"(<ASAP_Annotations><Annotations>
      <Annotation Name="a" Type="Dot" PartOfGroup="None" Color="yellow"><Coordinates>
        <Coordinate Order="0" X="1" Y="1"/></Coordinates></Annotation></Annotations></ASAP_Annotations>)",
                               InterchangeFormat::asap_xml),
                  "annotation 0 (name 'a'): Color 'yellow' is not a colour of the form #rrggbb");
  expect_contains(import_error(R"(<Annotations><Annotation Name="T" LineColor="-5"/></Annotations>)",
                               InterchangeFormat::imagescope_xml),
                  "annotation 0 (name 'T'): LineColor '-5' is not a colour");
}

}  // namespace
}  // namespace reread::annotation
