"""Where a video model looks: Saliency Tubes (class activation volumes), captum attributions, and
localisation scores against known object masks."""
