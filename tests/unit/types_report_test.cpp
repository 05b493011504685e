#include "devices/types_report.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

std::vector<MdevParent> host() {
  MdevType tty;
  tty.parent = "mtty";
  tty.type = "mtty-1";
  tty.name = "Single port serial";
  tty.device_api = "vfio-pci";
  tty.available_instances = 23;
  tty.devices = {"4dd50f26-ec08-11e8-b838-4bc3356865b6"};
  return {{"mtty", "/sys/class/mdev_bus/mtty", {tty}}, {"empty", "/sys/class/mdev_bus/empty", {}}};
}

TEST(TypesReport, TableHasAHeaderAndOneRowPerType) {
  EXPECT_EQ(format_types_table(host(), {}),
            "PARENT  TYPE    NAME                AVAILABLE  API       DEVICES                "
            "               DESCRIPTION\n"
            "mtty    mtty-1  Single port serial  23         vfio-pci  "
            "4dd50f26-ec08-11e8-b838-4bc3356865b6\n"
            "empty   -       -                   0          -         -                      "
            "               (no types)\n");
}

TEST(TypesReport, EmptyHostPointsToCheck) {
  EXPECT_EQ(format_types_table({}, {"/sys", "/dev"}),
            "no mdev-capable device is registered (/sys/class/mdev_bus is empty or missing): load "
            "a mediated-device driver; run `mdevrun check` for details\n");
}

TEST(TypesReport, JsonHasNullsForAbsentAttributes) {
  EXPECT_EQ(types_json(host()), nlohmann::json::parse(R"([
    {"parent": "mtty", "type": "mtty-1", "name": "Single port serial", "available_instances": 23,
     "device_api": "vfio-pci", "description": null,
     "devices": ["4dd50f26-ec08-11e8-b838-4bc3356865b6"]}])"));
}

}  // namespace
}  // namespace mdevrun
