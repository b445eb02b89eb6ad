// CLI test program in C++: sites must be the user's lines, past operator new, std::make_unique and
// std::vector internals, with demangled names. Keeps 10 nodes of 48 bytes and one vector of 10 pointers.
#include <cstdio>
#include <memory>
#include <vector>

namespace registry {

struct Node {
    long id;
    long payload[5];
};

class Registry {
public:
    Registry() { nodes_.reserve(10); } // @site:reserve

    void add_node(long id)
    {
        nodes_.push_back(std::make_unique<Node>(Node{id, {}})); // @site:node
    }

    std::size_t size() const { return nodes_.size(); }

private:
    std::vector<std::unique_ptr<Node>> nodes_;
};

} // namespace registry

static registry::Registry *global_registry;

int main()
{
    global_registry = new registry::Registry(); // @site:registry
    for (long i = 0; i < 10; i++)
        global_registry->add_node(i);
    std::printf("%zu nodes\n", global_registry->size());
    return 0;
}
