// The consult report as a PDF for the patient's record and the tumour board: a ReportDocument value
// (case, comparison, consult report with its addenda, annotation snapshots) drawn on A4 with Cairo.
// render_report_pdf only draws; snapshot_of is the thin shell that reads an annotated region from a slide.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "annotation_geometry.h"
#include "case_record.h"
#include "rgb_image.h"

namespace reread {

class SlideSource;

// One annotation the consult report refers to, with the slide region around it.
struct ReportSnapshot {
  std::int64_t annotation_id = 0;
  std::string label, class_name, comment, author;
  std::string slide_label;                     // the case's label for the slide ("A1 H&E"), or its ID
  std::array<std::uint8_t, 3> color{0, 0, 0};  // the class colour the outline is drawn in
  annotation::Measurement measurement;
  // The region shown, in level-0 pixels, and its pixels; an empty image when it could not be read.
  annotation::Bounds region;
  RgbImage image;
  std::optional<annotation::Geometry> outline;  // level-0 pixels; absent when the annotation is gone
  std::optional<double> um_per_px;              // level-0 microns per pixel along x, for the scale bar
  std::string unavailable;                      // why there is no image, when there is none
};

struct ReportDocument {
  CaseRecord kase;
  nlohmann::json comparison;                         // compare_reports(kase.original_report, report)
  ConsultReport report;                              // with its addenda
  std::map<std::string, std::string> display_names;  // user name -> display name (signer, authors)
  std::vector<ReportSnapshot> snapshots;             // in the order of report.annotation_refs
  std::string generated_at;                          // UTC ISO 8601, printed in the footer
};

// The whole document as PDF bytes: A4 pages, numbered "Page i of n". Throws std::runtime_error when
// Cairo fails.
std::string render_report_pdf(const ReportDocument& doc);

// The level-0 region a snapshot of an annotation with these bounds shows: the bounding box with a margin
// on every side (a point gets a field of about 250 µm, or 512 px without calibration), kept inside the
// slide; and the output size, the region scaled so that its longer side is at most `max_side` pixels
// and never enlarged past level 0.
struct SnapshotRegion {
  annotation::Bounds region;
  int out_width = 0, out_height = 0;
};
SnapshotRegion snapshot_region(const annotation::Bounds& bounds, double slide_width, double slide_height,
                               std::optional<double> um_per_px, int max_side = 1024);

// Reads the snapshot of `a` from `slide` (null when the slide cannot be read; the snapshot then says so).
// Never throws for a slide that fails to read: the report is still printed, the figure says why not.
ReportSnapshot snapshot_of(const Annotation& a, const SlideSource* slide, const std::string& slide_label);

}  // namespace reread
