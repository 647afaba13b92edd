#include "hw/gps_source.h"
