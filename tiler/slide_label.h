// The "label" and "macro" associated images of a synthetic slide, drawn with Cairo.
// Output bytes depend only on the inputs: no clock, no locale, fixed font options.
#pragma once

#include <cstdint>
#include <string>

#include "rgb_image.h"

namespace reread {

struct LabelText {
  std::string patient_name;   // "DOE, JANE A"
  std::string date_of_birth;  // "1957-03-14"
  std::string accession;      // "S26-04817 A1": case, block and slide
  std::string stain;          // "H&E"
  std::string institution;
};

// Fake but plausible identifiers, a pure function of the seed.
LabelText synthetic_label_text(std::uint64_t seed);

// A paper label: the text lines in black (DejaVu Sans) and a 2D-barcode-like block pattern encoding the
// accession. Throws std::invalid_argument for a non-positive size.
RgbImage render_label(const LabelText& text, int width = 600, int height = 600);

// The macro photograph of the whole glass slide: 75 x 25 mm (3:1), the label at the left end and `overview`
// (an RGB downsample of the scanned area) scaled to fit the rest. Either image may be empty.
RgbImage render_macro(const RgbImage& overview, const RgbImage& label, int height = 500);

}  // namespace reread
