#include "shared/wire/error.h"
