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

// Reads every array. Errors (not a zip, a member that is not .npy, an unsupported dtype,
// Fortran order, a size that disagrees with the shape) name the file and the member.
Npz read_npz(const std::string& path);

// Writes every array (as "<name>.npy" members, stored uncompressed like numpy.savez),
// each in its own dtype. Atomic: written to a temporary file in the same directory, then
// renamed; on failure nothing is left under path.
void write_npz(const std::string& path, const Npz& arrays);

}  // namespace backprop
