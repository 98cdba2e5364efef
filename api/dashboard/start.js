// Last script of the page: every panel has registered by now.
"use strict";
window.Dashboard.start();
