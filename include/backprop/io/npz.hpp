// NumPy's .npz files: a zip archive of .npy arrays, as numpy.savez writes and numpy.load
// reads. Used for interchange with the seed's NumPy code: parameters (w1, b1, ..., wL, bL)
// and gradients. Zip handling is libzip's; only the .npy header is ours.
//
// Supported dtypes: little-endian float32 ("<f4") and float64 ("<f8"), C order.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace backprop {

struct NpyArray {
  std::vector<std::size_t> shape;
  bool is_double = false;           // "<f8" when true, "<f4" otherwise
  std::vector<double> values;       // C order, widened to double whatever the stored dtype

  std::size_t size() const;         // product of shape (1 for a scalar, shape {})
};

using Npz = std::map<std::string, NpyArray>;

// The most values one array may hold when the reader expects no particular shape: a 4096 x
// 4096 layer. A 1 MB archive of zeros can claim a billion (it deflates 1000:1).
constexpr std::size_t kMaxNpyValues = std::size_t(1) << 24;

// The most bytes a compressed (deflated) member may inflate to: EMNIST's largest image array
// has 547 MB. A stored member's size is bounded by the file itself.
constexpr std::size_t kMaxInflatedBytes = std::size_t(1) << 30;

// What a reader expects, checked against each member's .npy header before its data is read
// or inflated: the shapes of named arrays, the values per example (the product of the
// dimensions after the first) of named dataset arrays, and caps on any array's size.
struct NpzExpect {
  std::map<std::string, std::vector<std::size_t>> shapes;
  std::map<std::string, std::size_t> example_values;
  std::size_t max_values = kMaxNpyValues;
  std::size_t max_inflated_bytes = kMaxInflatedBytes;
};

// Reads every array. Errors (not a zip, a member that is not .npy, an unsupported dtype,
// Fortran order, a size that disagrees with the shape, a shape other than expected or over
// the cap) name the file and the member.
Npz read_npz(const std::string& path, const NpzExpect& expect = {});

// One member as stored, for datasets: any numeric dtype numpy writes ('|u1', '<i8', '<f4',
// '|b1', ... little-endian or single-byte), its C-order bytes unconverted.
struct NpyRaw {
  std::vector<std::size_t> shape;
  std::string descr;        // numpy's dtype string
  char kind = 0;            // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  std::size_t item = 0;     // bytes per value
  std::vector<char> data;   // size() * item bytes
  std::size_t size() const;
};

// Reads every member without converting; the same checks as read_npz (sizes and expect against
// the header before allocating). A dtype other than bool, int, uint or float is an error naming it.
std::map<std::string, NpyRaw> read_npz_raw(const std::string& path, const NpzExpect& expect);

// Writes every array (as "<name>.npy" members, stored uncompressed like numpy.savez),
// each in its own dtype. Atomic: written to a temporary file in the same directory, then
// renamed; on failure nothing is left under path.
void write_npz(const std::string& path, const Npz& arrays);

}  // namespace backprop
