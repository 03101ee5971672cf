#include "dzi_writer.h"

#include <atomic>
#include <cstring>

#include "output_file.h"
#include "pyramid_streamer.h"
#include "resample.h"
#include "slide_error.h"
#include "strip_reader.h"
#include "tile_renderer.h"
#include "work_pool.h"

namespace reread {

PyramidStreamTimes write_dzi(const SlideSource& slide, const std::filesystem::path& out_dir, const std::string& name,
                             const DziOptions& options, const Progress& progress) {
  const TileRenderer renderer(slide, options.geometry);
  const DeepZoomGeometry& geometry = renderer.geometry();
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

  streamer.run([&](std::int64_t y, std::int64_t rows, std::uint8_t* dst,
                   std::size_t stride) { read_strip(slide, ox, oy, spec.base.width, y, rows, dst, stride, pool); },
               [&](const TileJob& job) {
                 const int level = levels - 1 - job.depth;
                 std::vector<std::uint8_t> bytes;
                 const TileSource src = *geometry.tile(level, job.col, job.row);
                 const Size out = src.output_size;
                 const double scale = static_cast<double>(std::int64_t{1} << job.depth) /
                                      slide.info().level_downsamples[src.slide_level];
                 const bool dyadic =
                     src.read_size.width == static_cast<std::int64_t>(scale * static_cast<double>(job.width)) &&
                     src.read_size.height == static_cast<std::int64_t>(scale * static_cast<double>(job.height));
                 const Size grid = geometry.level_tiles(level);
                 const bool edge = job.col == grid.width - 1 || job.row == grid.height - 1;
                 if (edge && !dyadic &&
                     src.read_size.width * src.read_size.height <= 16 * src.tile_size.width * src.tile_size.height) {
                   // At the right and bottom edges DeepZoomGenerator stretches a clipped read by a factor a
                   // little off 2^k; render those tiles its way so they match it, not just the grid.
                   bytes = encode_tile(renderer.render(level, job.col, job.row), options.format, options.quality);
                 } else if (out.width == job.width && out.height == job.height) {
                   bytes = options.format == TileFormat::jpeg
                               ? encode_jpeg(job.pixels, job.width, job.height, job.stride, options.quality)
                               : encode_png(job.pixels, job.width, job.height, job.stride);
                 } else {
                   // DeepZoomGenerator keeps the read region's aspect when it scales (Pillow's thumbnail), so
                   // some tiles, mostly at the tiny levels, are a pixel narrower than the grid says. Match it.
                   RgbImage tile(job.width, job.height);
                   for (int y = 0; y < job.height; ++y) {
                     std::memcpy(tile.row(y), job.pixels + job.stride * static_cast<std::size_t>(y), tile.stride());
                   }
                   bytes = encode_tile(resize_lanczos(tile, static_cast<int>(out.width), static_cast<int>(out.height)),
                                       options.format, options.quality);
                 }
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
