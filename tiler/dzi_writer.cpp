#include "dzi_writer.h"

#include <atomic>

#include "output_file.h"
#include "pyramid_streamer.h"
#include "slide_error.h"
#include "strip_reader.h"
#include "work_pool.h"

namespace reread {

PyramidStreamTimes write_dzi(const SlideSource& slide, const std::filesystem::path& out_dir, const std::string& name,
               const DziOptions& options, const Progress& progress) {
  const DeepZoomGeometry geometry(slide.info().geometry(), options.geometry);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir)) {
    throw SlideError(out_dir.string(), "create output directory", ec ? ec.message() : "not a directory");
  }

  StagedPath files(out_dir / (name + "_files"));
  const int levels = geometry.level_count();
  for (int l = 0; l < levels; ++l) {
    std::filesystem::create_directories(files.staging() / std::to_string(l), ec);
    if (ec) throw SlideError(files.staging().string(), "create output directory", ec.message());
  }

  WorkPool pool(std::max(1, options.jobs));
  PyramidStreamSpec spec;
  spec.base = geometry.base_dimensions();
  spec.depths = levels;
  spec.tile_size = options.geometry.tile_size;
  spec.overlap = options.geometry.overlap;
  spec.strip_rows = aligned_strip_rows(slide.info(), 512);
  PyramidStreamer streamer(spec, pool);

  const std::int64_t total = geometry.tile_count();
  std::atomic<std::int64_t> done{0};
  const char* ext = extension(options.format);
  const std::int64_t ox = geometry.offset_x(), oy = geometry.offset_y();

  streamer.run(
      [&](std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride) {
        read_strip(slide, ox, oy, spec.base.width, y, rows, dst, stride, pool);
      },
      [&](const TileJob& job) {
        const auto bytes = options.format == TileFormat::jpeg
                               ? encode_jpeg(job.pixels, job.width, job.height, job.stride, options.quality)
                               : encode_png(job.pixels, job.width, job.height, job.stride);
        const int level = levels - 1 - job.depth;
        write_file(files.staging() / std::to_string(level) /
                       (std::to_string(job.col) + "_" + std::to_string(job.row) + "." + ext),
                   bytes);
        done.fetch_add(1, std::memory_order_relaxed);
      },
      [&](std::span<const TileJob>) {
        if (progress) progress(done.load(), total);
      });

  StagedPath dzi(out_dir / (name + ".dzi"));
  write_file(dzi.staging(), geometry.dzi_xml(ext));
  files.commit();
  dzi.commit();
  return streamer.times();
}

}  // namespace reread
