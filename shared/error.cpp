#include "shared/error.h"
