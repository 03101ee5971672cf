// GoogleTest shows an annotation document's changes as "updated <uid>" in failure messages.
#pragma once

#include <ostream>

#include "annotation_document.h"

namespace reread::viewer {

inline void PrintTo(const Change& c, std::ostream* os) {
  *os << (c.kind == Change::Kind::created   ? "created "
          : c.kind == Change::Kind::updated ? "updated "
                                            : "deleted ")
      << c.uid;
}

}  // namespace reread::viewer
