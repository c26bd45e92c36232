// mahal/model_file.hpp — the versioned binary container that learned models are saved in.
//
// A model file holds a `kind` ("metric", "siamese", ...), a string→string metadata map (solver,
// options, data set, mahal version, ...) and an ordered list of named double matrices (L, A,
// network weights, ...). Each model type decides which arrays and keys it writes; this layer
// only stores them, bit-exactly.
//
//   mahal::model_file m;
//   m.kind = "metric";
//   m.meta["solver"] = "lmnn";
//   m.add_array("L", L);                                  // any k×d matrix
//   mahal::save_model_file("lmnn.mahal", m);
//   mahal::model_file back = mahal::load_model_file("lmnn.mahal");
//   const mahal::matrix<double>& L2 = back.array("L").data;   // equal to L bit for bit
//
// Format, version 1. Every integer is little-endian, whatever the host; a string is a u32 byte
// count followed by its bytes (no terminator); a double is its IEEE-754 binary64 bit pattern as
// a little-endian u64.
//
//   offset  size  field
//   0       8     magic "MAHALMDL"
//   8       4     u32 format version (= 1)
//   12      8     u64 payload size P: the bytes from offset 20 up to the checksum
//   20      P     payload:
//                   string kind
//                   u32 number of metadata entries, then each: string key, string value
//                     (in increasing key order)
//                   u32 number of arrays, then each: string name, u64 rows, u64 cols,
//                     rows·cols doubles in column-major order
//   20+P    4     u32 CRC-32 (IEEE 802.3 polynomial, as zlib's crc32()) of bytes [0, 20+P)
//
// Errors. save_model_file throws invalid_argument for an empty kind, an empty or repeated array
// name, or a string longer than 4 GiB, and io_error when the file cannot be written; it writes
// "<path>.tmp.<pid>", fsyncs it and renames it over `path`, so a failed save leaves nothing
// half-written and any existing file untouched (two threads of one process must not save to
// the same path at the same time). load_model_file throws io_error, naming the file, when it
// cannot be read, is not a model file (bad magic), has a newer or invalid format version, is
// truncated or has extra bytes, fails the checksum (corruption), holds a length that does not
// fit in the file, or holds what save_model_file refuses to write (an empty kind, an empty or
// repeated array name); every length is checked against the bytes left before anything is
// allocated.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mahal/matrix.hpp"

namespace mahal {

// The format version that this build writes, and the newest it reads.
inline constexpr std::uint32_t model_file_version = 1;

// One stored matrix: rows×cols doubles.
struct named_array {
  std::string name;
  matrix<double> data;
};

struct model_file {
  std::string kind;                         // what the file holds, e.g. "metric"
  std::map<std::string, std::string> meta;  // free-form metadata
  std::vector<named_array> arrays;          // in the order they are written and read

  // Appends an array (a copy of `data`). Names must be unique when saving.
  void add_array(const std::string& name, matrix_ref<double> data);
  // The array called `name`, or nullptr.
  const named_array* find_array(const std::string& name) const;
  // The array called `name`; throws io_error (listing the arrays present) when there is none,
  // since that means the file does not hold what its reader expects.
  const named_array& array(const std::string& name) const;
  // The metadata value of `key`; throws io_error when it is absent.
  const std::string& meta_value(const std::string& key) const;
};

// Writes `model` to `path` atomically (see above).
void save_model_file(const std::string& path, const model_file& model);

// Reads and validates a model file written by save_model_file (see above for the errors).
model_file load_model_file(const std::string& path);

}  // namespace mahal
