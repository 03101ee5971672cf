// Tiles are JPEG-encoded in parallel with TurboJPEG and stored raw (TIFFWriteRawTile), one
// complete JPEG stream per tile. Level 0 goes straight into the file; coarser levels, which a
// TIFF must store after it, wait in a spool file beside the output.
#include "tiff_pyramid_writer.h"

#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>

#include "image_codec.h"
#include "output_file.h"
#include "slide_error.h"

namespace reread {

namespace {

struct TiffCloser {
  void operator()(TIFF* t) const {
    if (t != nullptr) TIFFClose(t);
  }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

struct SpooledTile {
  std::uint64_t offset = 0;
  std::uint32_t size = 0;
};

// libtiff reports errors through a global handler; keep the last message per thread.
thread_local std::string tiff_last_error;
void tiff_error_handler(const char* module, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  tiff_last_error = std::string(module != nullptr ? module : "libtiff") + ": " + buf;
}

std::string fmt_mpp(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

class TiffFile {
 public:
  TiffFile(std::filesystem::path path, const TiffPyramidOptions& options) : path_(std::move(path)), options_(options) {
    TIFFSetErrorHandler(tiff_error_handler);
    TIFFSetWarningHandler(nullptr);
    tif_.reset(TIFFOpen(path_.c_str(), "w8"));
    if (!tif_) fail("create");
  }

  void begin_tiled(Size size, const std::string& description, bool reduced) {
    TIFF* t = tif_.get();
    if (reduced) TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(size.width));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(size.height));
    TIFFSetField(t, TIFFTAG_TILEWIDTH, static_cast<std::uint32_t>(options_.tile_size));
    TIFFSetField(t, TIFFTAG_TILELENGTH, static_cast<std::uint32_t>(options_.tile_size));
    common_tags(description);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
  }

  void write_raw_tile(std::int64_t col, std::int64_t row, const std::vector<std::uint8_t>& jpeg) {
    const auto ts = static_cast<std::uint32_t>(options_.tile_size);
    const ttile_t index =
        TIFFComputeTile(tif_.get(), static_cast<std::uint32_t>(col) * ts, static_cast<std::uint32_t>(row) * ts, 0, 0);
    if (TIFFWriteRawTile(tif_.get(), index, const_cast<std::uint8_t*>(jpeg.data()),
                         static_cast<tmsize_t>(jpeg.size())) < 0) {
      fail("write tile");
    }
  }

  void write_stripped(const RgbImage& img, const std::string& description) {
    TIFF* t = tif_.get();
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(img.width));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(img.height));
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(16));
    common_tags(description);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    for (int y = 0; y < img.height; ++y) {
      if (TIFFWriteScanline(t, const_cast<std::uint8_t*>(img.row(y)), static_cast<std::uint32_t>(y), 0) < 0) {
        fail("write associated image");
      }
    }
    end_directory();
  }

  void end_directory() {
    if (!TIFFWriteDirectory(tif_.get())) fail("write directory");
  }

  void close() {
    if (!TIFFFlush(tif_.get())) fail("flush");
    tif_.reset();
  }

  [[noreturn]] void fail(const std::string& op) const {
    throw SlideError(path_.string(), op, tiff_last_error.empty() ? "libtiff failed" : tiff_last_error);
  }

 private:
  void common_tags(const std::string& description) {
    TIFF* t = tif_.get();
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_SOFTWARE, "Reread");
    if (!description.empty()) TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description.c_str());
    if (options_.mpp_x && options_.mpp_y && *options_.mpp_x > 0 && *options_.mpp_y > 0) {
      TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
      TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<float>(10000.0 / *options_.mpp_x));
      TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<float>(10000.0 / *options_.mpp_y));
    }
  }

  std::filesystem::path path_;
  const TiffPyramidOptions& options_;
  TiffHandle tif_;
};

std::string aperio_header(Size base, const TiffPyramidOptions& o) {
  return "Aperio Image Library v12.0.15 \r\n" + std::to_string(base.width) + "x" + std::to_string(base.height) +
         " [0,0 " + std::to_string(base.width) + "x" + std::to_string(base.height) + "] (" +
         std::to_string(o.tile_size) + "x" + std::to_string(o.tile_size) + ")";
}

std::string aperio_level0(const AperioDescription& a, Size base, const TiffPyramidOptions& o) {
  std::ostringstream s;
  s << aperio_header(base, o) << " JPEG/RGB Q=" << o.quality;
  if (a.app_mag) s << "|AppMag = " << *a.app_mag;
  s << "|MPP = " << fmt_mpp(o.mpp_x.value_or(0.25)) << "|ScanScope ID = " << a.scanner_id
    << "|Filename = " << a.filename << "|Date = " << a.date << "|Time = " << a.time << "|OriginalWidth = " << base.width
    << "|OriginalHeight = " << base.height;
  return s.str();
}

}  // namespace

PyramidStreamTimes write_tiff_pyramid(Size base, const PyramidStreamer::Produce& produce, WorkPool& pool,
                                      const std::filesystem::path& out, const TiffPyramidOptions& options,
                                      const MakeAssociated& make_associated, const Progress& progress) {
  if (options.tile_size < 16 || options.tile_size % 16 != 0) {
    throw SlideError(out.string(), "write pyramid", "tile size must be a positive multiple of 16");
  }
  // 2x levels down to one tile; stored levels are every `level_step`-th of them.
  const std::vector<Size> sizes = halving_sizes(base, options.tile_size, options.tile_size);
  const int depths = static_cast<int>(sizes.size());
  const int step = std::max(1, options.level_step);
  std::vector<bool> stored(depths, false);
  for (int d = 0; d < depths; d += step) stored[d] = true;
  int overview_depth = depths - 1;
  for (int d = 0; d < depths; ++d) {
    if (sizes[d].width <= options.thumbnail_max && sizes[d].height <= options.thumbnail_max) {
      overview_depth = d;
      break;
    }
  }
  std::vector<bool> emit = stored;
  emit[overview_depth] = true;

  StagedPath staged(out);
  StagedPath spool_path(std::filesystem::path(out.string() + ".spool"));
  std::unique_ptr<std::FILE, FileCloser> spool(std::fopen(spool_path.staging().c_str(), "w+b"));
  if (!spool) throw SlideError(spool_path.staging().string(), "create spool file", std::strerror(errno));
  ::unlink(spool_path.staging().c_str());  // anonymous from here on: gone whatever happens

  TiffFile tiff(staged.staging(), options);
  const std::string level0_desc = options.aperio ? aperio_level0(*options.aperio, base, options) : std::string();
  tiff.begin_tiled(base, level0_desc, false);

  PyramidStreamSpec spec;
  spec.base = base;
  spec.depths = depths;
  spec.tile_size = options.tile_size;
  spec.overlap = 0;
  spec.emit = emit;
  spec.strip_rows = 512;
  PyramidStreamer streamer(spec, pool);

  std::vector<std::vector<SpooledTile>> spooled(depths);
  for (int d = 1; d < depths; ++d) {
    if (stored[d]) {
      const std::int64_t t = options.tile_size;
      spooled[d].resize(static_cast<std::size_t>(((sizes[d].width + t - 1) / t) * ((sizes[d].height + t - 1) / t)));
    }
  }
  RgbImage overview(static_cast<int>(sizes[overview_depth].width), static_cast<int>(sizes[overview_depth].height));
  std::vector<std::vector<std::uint8_t>> encoded;
  std::int64_t total = 0, done = 0;
  for (int d = 0; d < depths; ++d) {
    if (stored[d]) total += static_cast<std::int64_t>(d == 0 ? 0 : spooled[d].size());
  }
  total += ((base.width + options.tile_size - 1) / options.tile_size) *
           ((base.height + options.tile_size - 1) / options.tile_size);
  std::uint64_t spool_end = 0;

  streamer.run(
      produce,
      [&](const TileJob& job) {
        if (!stored[job.depth]) return;
        const int ts = options.tile_size;
        if (job.width == ts && job.height == ts) {
          encoded[job.index] = encode_jpeg(job.pixels, ts, ts, job.stride, options.quality);
          return;
        }
        // Edge tile: TIFF tiles are full size; pad by repeating the last column and row.
        thread_local std::vector<std::uint8_t> pad;
        pad.resize(static_cast<std::size_t>(ts) * ts * 3);
        for (int y = 0; y < ts; ++y) {
          const std::uint8_t* src = job.pixels + job.stride * static_cast<std::size_t>(std::min(y, job.height - 1));
          std::uint8_t* dst = pad.data() + static_cast<std::size_t>(y) * ts * 3;
          std::memcpy(dst, src, static_cast<std::size_t>(job.width) * 3);
          for (int x = job.width; x < ts; ++x) std::memcpy(dst + x * 3, src + (job.width - 1) * 3, 3);
        }
        encoded[job.index] = encode_jpeg(pad.data(), ts, ts, static_cast<std::size_t>(ts) * 3, options.quality);
      },
      [&](std::span<const TileJob> jobs) {
        for (const TileJob& job : jobs) {
          if (job.depth == overview_depth) {
            for (int y = 0; y < job.height; ++y) {
              std::memcpy(overview.row(static_cast<int>(job.row * options.tile_size + y)) +
                              static_cast<std::size_t>(job.col * options.tile_size) * 3,
                          job.pixels + job.stride * static_cast<std::size_t>(y),
                          static_cast<std::size_t>(job.width) * 3);
            }
          }
          if (!stored[job.depth]) continue;
          auto& bytes = encoded[job.index];
          if (job.depth == 0) {
            tiff.write_raw_tile(job.col, job.row, bytes);
          } else {
            const std::int64_t across = (sizes[job.depth].width + options.tile_size - 1) / options.tile_size;
            if (std::fwrite(bytes.data(), 1, bytes.size(), spool.get()) != bytes.size()) {
              throw SlideError(spool_path.staging().string(), "write spool file", std::strerror(errno));
            }
            spooled[job.depth][static_cast<std::size_t>(job.row * across + job.col)] = {
                spool_end, static_cast<std::uint32_t>(bytes.size())};
            spool_end += bytes.size();
          }
          std::vector<std::uint8_t>().swap(bytes);
          ++done;
        }
        if (progress) progress(done, total);
      },
      [&](std::size_t batch_size) { encoded.assign(batch_size, {}); });
  tiff.end_directory();
  if (std::fflush(spool.get()) != 0) {
    throw SlideError(spool_path.staging().string(), "write spool file", std::strerror(errno));
  }

  std::vector<NamedImage> associated;
  if (options.aperio) {
    RgbImage thumb = overview;
    tiff.write_stripped(thumb, aperio_header(base, options) + " -> " + std::to_string(thumb.width) + "x" +
                                   std::to_string(thumb.height) + " -");
    if (make_associated) associated = make_associated(overview);
  }

  std::vector<std::uint8_t> buf;
  for (int d = 1; d < depths; ++d) {
    if (!stored[d]) continue;
    const std::string desc = options.aperio ? aperio_header(base, options) + " -> " + std::to_string(sizes[d].width) +
                                                  "x" + std::to_string(sizes[d].height) +
                                                  " JPEG/RGB Q=" + std::to_string(options.quality)
                                            : std::string();
    tiff.begin_tiled(sizes[d], desc, true);
    const std::int64_t across = (sizes[d].width + options.tile_size - 1) / options.tile_size;
    for (std::size_t i = 0; i < spooled[d].size(); ++i) {
      const SpooledTile& t = spooled[d][i];
      buf.resize(t.size);
      if (::pread(fileno(spool.get()), buf.data(), t.size, static_cast<off_t>(t.offset)) !=
          static_cast<ssize_t>(t.size)) {
        throw SlideError(spool_path.staging().string(), "read spool file", std::strerror(errno));
      }
      tiff.write_raw_tile(static_cast<std::int64_t>(i) % across, static_cast<std::int64_t>(i) / across, buf);
      ++done;
    }
    tiff.end_directory();
    if (progress) progress(done, total);
  }
  for (const NamedImage& img : associated) {
    tiff.write_stripped(img.image, options.aperio
                                       ? "Aperio Image Library v12.0.15\n" + img.name + " " +
                                             std::to_string(img.image.width) + "x" + std::to_string(img.image.height)
                                       : img.name);
  }
  tiff.close();
  staged.commit();
  return streamer.times();
}

}  // namespace reread
