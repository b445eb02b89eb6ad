// C++ new/delete reach the tracker through malloc; frame 0 is the function that called new.
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <vector>

struct Widget {
    char data[48];
};

__attribute__((noinline)) std::vector<Widget *> make_widgets() {
    std::vector<Widget *> widgets;
    widgets.reserve(100);
    for (int i = 0; i < 100; i++) widgets.push_back(new Widget());
    return widgets;
}

__attribute__((noinline)) int *make_array() { return new int[250]; }

__attribute__((noinline)) void churn_delete() {
    for (int i = 0; i < 50; i++) delete new Widget();
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    std::vector<Widget *> widgets = make_widgets();
    int *array = make_array();
    churn_delete();
    auto snapshot = reinterpret_cast<int (*)(const char *)>(dlsym(RTLD_DEFAULT, "heapsnap_snapshot"));
    if (!snapshot || snapshot(argv[1]) != 0) return 3;
    delete[] array;
    for (Widget *w : widgets) delete w;
    return 0;
}
