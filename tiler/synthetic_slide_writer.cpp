#include "synthetic_slide_writer.h"

#include <cmath>

#include "slide_error.h"
#include "slide_label.h"
#include "tiff_pyramid_writer.h"

namespace reread {

PyramidStreamTimes write_synthetic_slide(const std::filesystem::path& out, const SyntheticSlideOptions& options,
                                         const Progress& progress) {
  const SyntheticSlideSpec& spec = options.spec;
  if (spec.width < 1 || spec.height < 1 || spec.width > 4'000'000'000LL || spec.height > 4'000'000'000LL) {
    throw SlideError(out.string(), "synthesize", "width and height must be between 1 and 4000000000");
  }
  if (!(spec.mpp > 0.0) || !std::isfinite(spec.mpp))
    throw SlideError(out.string(), "synthesize", "MPP must be positive");
  const SyntheticTissue tissue(spec);
  WorkPool pool(std::max(1, options.jobs));

  TiffPyramidOptions tiff;
  tiff.tile_size = options.tile_size;
  tiff.quality = options.quality;
  tiff.level_step = 2;  // 4x per level, as Aperio scanners store them
  tiff.mpp_x = spec.mpp;
  tiff.mpp_y = spec.mpp;
  AperioDescription aperio;
  aperio.app_mag = std::round(10.0 / spec.mpp);  // 0.25 um/px -> 40x, 0.5 -> 20x
  aperio.filename = out.stem().string();
  tiff.aperio = aperio;

  const LabelText label_text = synthetic_label_text(spec.seed);
  const std::int64_t band = 64;  // rows per rendering task
  return write_tiff_pyramid(
      {spec.width, spec.height},
      [&](std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride) {
        const std::int64_t tasks = (rows + band - 1) / band;
        pool.parallel_for(static_cast<std::size_t>(tasks), [&](std::size_t t) {
          const std::int64_t y0 = static_cast<std::int64_t>(t) * band;
          const std::int64_t n = std::min(band, rows - y0);
          tissue.render(0, y + y0, static_cast<int>(spec.width), static_cast<int>(n),
                        dst + stride * static_cast<std::size_t>(y0), stride);
        });
      },
      pool, out, tiff,
      [&](const RgbImage& overview) {
        RgbImage label = render_label(label_text);
        RgbImage macro = render_macro(overview, label);
        return std::vector<NamedImage>{{"label", std::move(label)}, {"macro", std::move(macro)}};
      },
      progress);
}

}  // namespace reread
