-- wrk script: the minimal handler, with the same request shape cost as the API's GET.
function request()
  return wrk.format("GET", "/")
end
