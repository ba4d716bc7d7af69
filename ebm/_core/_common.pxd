# Types and the random number generator shared by every kernel of ebm._core.
#
# X_binned holds one uint16 bin index per feature and sample, laid out as
# (n_features, n_samples) so that a feature's bins are contiguous. Bin 0 is the
# missing bin, bins 1..n_bins-2 hold values and bin n_bins-1 is the unseen bin.

from libc.stdint cimport int32_t, uint16_t, uint64_t

ctypedef uint16_t X_BINNED_C
ctypedef int32_t ROW_C


# xoshiro256** seeded through splitmix64: small, fast and identical on every
# platform, so a seed gives the same model everywhere.
cdef struct Rng:
    uint64_t s0
    uint64_t s1
    uint64_t s2
    uint64_t s3


cdef inline uint64_t _rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t _splitmix64(uint64_t* state) noexcept nogil:
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline void rng_seed(Rng* rng, uint64_t seed) noexcept nogil:
    rng.s0 = _splitmix64(&seed)
    rng.s1 = _splitmix64(&seed)
    rng.s2 = _splitmix64(&seed)
    rng.s3 = _splitmix64(&seed)


cdef inline uint64_t rng_next(Rng* rng) noexcept nogil:
    cdef uint64_t result = _rotl(rng.s1 * 5, 7) * 9
    cdef uint64_t t = rng.s1 << 17
    rng.s2 ^= rng.s0
    rng.s3 ^= rng.s1
    rng.s1 ^= rng.s2
    rng.s0 ^= rng.s3
    rng.s2 ^= t
    rng.s3 = _rotl(rng.s3, 45)
    return result


cdef inline Py_ssize_t rng_below(Rng* rng, Py_ssize_t n) noexcept nogil:
    # Uniform integer in [0, n). The modulo bias is below n / 2**64, which is
    # negligible for the bin and term counts drawn here.
    return <Py_ssize_t>(rng_next(rng) % <uint64_t>n)
