// Annotation files other tools read and write: QuPath GeoJSON, ASAP XML (Camelyon's) and Aperio ImageScope
// XML. Pure code on strings: no I/O; the record stores what import returns and serves what export writes.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "annotation_geometry.h"

namespace reread::annotation {

struct InterchangeAnnotation {
  Geometry geometry;       // level-0 pixels
  std::string class_name;  // QuPath classification, ASAP group, ImageScope annotation layer; "" for none
  std::string color;       // "#rrggbb" (lower case on import), "" for none
  std::string label;       // QuPath name, ASAP annotation name, ImageScope region text
  std::string comment;     // QuPath description; ASAP and ImageScope have no place for it
  friend bool operator==(const InterchangeAnnotation&, const InterchangeAnnotation&) = default;
};

enum class InterchangeFormat { qupath_geojson, asap_xml, imagescope_xml };

// "geojson" or "qupath", "asap", "imagescope" (any case); nullopt for anything else.
std::optional<InterchangeFormat> parse_interchange_format(std::string_view name);
// "geojson", "asap", "imagescope".
std::string_view interchange_format_name(InterchangeFormat format);

struct ImportLimits {
  double slide_width = 0, slide_height = 0;  // level-0 pixels; a geometry entirely outside is rejected
  std::size_t max_vertices = 1'000'000;      // over the whole file, closing positions of rings included
};

// A file that cannot be imported as a whole, or annotations a format cannot hold. The message names the
// offending feature by its 0-based position in the file and its label, e.g.
// "feature 17 (label 'tumour front'): Polygon ring 0 is not closed (first and last positions differ)";
// ASAP's are "annotation N", ImageScope's "annotation N region M".
class InterchangeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// All or nothing: returns every annotation of the file, or throws InterchangeError on malformed JSON/XML
// (with the parser's offset and description), an unknown or malformed geometry, an unclosed GeoJSON ring,
// a non-finite or unparsable coordinate, a geometry entirely outside the slide, more than max_vertices
// vertices, or an unknown annotation type.
//   QuPath GeoJSON: a FeatureCollection, a bare array of Features or one Feature. objectType must be
//     "annotation" (or absent): detections and cells are refused rather than turned into annotations.
//     Colour: properties.color (the object's own, which QuPath draws) else classification.color, each
//     [r, g, b] or a packed (A)RGB integer; QuPath 0.2's classification.colorRGB is read too.
//   ASAP: Dot -> Point, PointSet -> MultiPoint, Measurement (ASAP's ruler) and Polyline -> LineString,
//     Polygon, Rectangle and Spline -> Polygon (ASAP draws a Spline as a closed curve through its points;
//     the points are kept, the smoothing is not). Colour: the annotation's, else its group's.
//   ImageScope: region Type 0 (free polygon), 1 (rectangle) -> Polygon; 2 (ellipse, given by its bounding
//     box) -> 64-vertex Polygon; 3 (ruler) and 4 (arrow) -> LineString. A NegativeROA region becomes a hole
//     of the nearest preceding positive area region of its layer that contains it, and is refused when
//     there is none. Each remaining region is one annotation; LineColor is the decimal of 0xBBGGRR.
std::vector<InterchangeAnnotation> import_annotations(std::string_view text, InterchangeFormat format,
                                                      const ImportLimits& limits);

// The file as the tool writes it; import_annotations(export_annotations(a, f), f, ...) gives back every
// geometry, class name and colour, within what the format can say:
//   QuPath GeoJSON holds everything.
//   ASAP has no holes (outer rings only are written), splits a MultiPolygon into one annotation per polygon,
//     and drops comments. A 2-position LineString is written as ASAP's Measurement, a longer one as
//     "Polyline", a type ASAP itself does not draw.
//   ImageScope writes one annotation layer per class (its colour is the first non-empty colour of the
//     class), holes as NegativeROA regions, a MultiPolygon as one region per polygon; it drops comments and
//     cannot hold points (InterchangeError).
// Throws InterchangeError on a colour that is not "#rrggbb" or "".
std::string export_annotations(const std::vector<InterchangeAnnotation>& annotations, InterchangeFormat format);

}  // namespace reread::annotation
