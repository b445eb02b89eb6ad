// CLI test program in C++ with a long templated name: the text report must keep its columns aligned
// when one location is far longer than the others. Keeps 4 blocks of 64 bytes from a function template
// instantiated with nested standard containers, 2 of 512 bytes and 1 of 4000 from plain functions.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace storage::detail {

template <typename Key, typename Value>
struct Bucket {
    Key key;
    Value value;
};

template <typename Key, typename Value>
void *allocate_bucket_storage(std::size_t bytes)
{
    return std::malloc(bytes); // @site:templated
}

} // namespace storage::detail

using LongKey = std::map<std::string, std::vector<std::pair<int, std::string>>>;
using LongValue = std::vector<std::map<long, std::string>>;

static void *kept[8];

static void *small_buffer() { return std::malloc(512); } // @site:small

static void *big_buffer() { return std::malloc(4000); } // @site:big

int main()
{
    for (int i = 0; i < 4; i++)
        kept[i] = storage::detail::allocate_bucket_storage<LongKey, LongValue>(64);
    kept[4] = small_buffer();
    kept[5] = small_buffer();
    kept[6] = big_buffer();
    std::printf("%d blocks\n", kept[6] != nullptr ? 7 : 0); // @site:printf (its stdout buffer)
    return 0;
}
