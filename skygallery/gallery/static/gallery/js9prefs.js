// JS9 preferences for SkyGallery: everything runs in the browser (no JS9 helper), images open with a log
// scale and a perceptual colour map, and JS9 never contacts another server.
var JS9Prefs = {
  "globalOpts": {
    "helperType": "none",
    "requireHelper": false,
    "loadProxy": false,
    "allowFileWget": false,
    "workDir": null,
    "dataDir": null,
    "alerts": true
  },
  "imageOpts": {
    "colormap": "viridis",
    "scale": "log",
    "zoom": "tofit"
  }
};
