// Import time of a 50,000-vertex tumour outline in each interchange format (target: under 1 s per import).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "annotation_interchange.h"

namespace {

using namespace reread::annotation;

constexpr int outline_vertices = 50'000;  // the closing vertex included
const ImportLimits slide{100'000, 80'000};

// A wavy outline around (50000, 40000), as a brush or wand tool leaves it: full-precision coordinates, the
// slowest case for number parsing.
InterchangeAnnotation tumour_outline() {
  Ring ring;
  ring.reserve(outline_vertices);
  for (int i = 0; i < outline_vertices - 1; ++i) {
    const double angle = 2 * std::numbers::pi * i / (outline_vertices - 1);
    const double radius = 20'000 + 1'500 * std::sin(37 * angle) + 300 * std::cos(311 * angle);
    ring.push_back({50'000 + radius * std::cos(angle), 40'000 + radius * std::sin(angle)});
  }
  ring.push_back(ring.front());
  return {Polygon{{std::move(ring)}}, "Tumor", "#c80000", "invasive front", ""};
}

void import_outline(benchmark::State& state, InterchangeFormat format) {
  const std::string file = export_annotations({tumour_outline()}, format);
  for (auto _ : state) {
    auto annotations = import_annotations(file, format, slide);
    benchmark::DoNotOptimize(annotations);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(file.size()));
  state.counters["file_MB"] = static_cast<double>(file.size()) / 1e6;
}

void export_outline(benchmark::State& state, InterchangeFormat format) {
  const std::vector<InterchangeAnnotation> annotations = {tumour_outline()};
  for (auto _ : state) {
    auto file = export_annotations(annotations, format);
    benchmark::DoNotOptimize(file);
  }
}

BENCHMARK_CAPTURE(import_outline, qupath_geojson, InterchangeFormat::qupath_geojson)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(import_outline, asap_xml, InterchangeFormat::asap_xml)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(import_outline, imagescope_xml, InterchangeFormat::imagescope_xml)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(export_outline, qupath_geojson, InterchangeFormat::qupath_geojson)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(export_outline, asap_xml, InterchangeFormat::asap_xml)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(export_outline, imagescope_xml, InterchangeFormat::imagescope_xml)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
