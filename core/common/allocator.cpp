#include "common/allocator.h"

#include <cstdlib>  // brings in <features.h>, which defines __GLIBC__ on glibc systems
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ranklab {

void tuneAllocator() {
#if defined(__GLIBC__)
  mallopt(M_TOP_PAD, 256 << 20);
#endif
}

}  // namespace ranklab
