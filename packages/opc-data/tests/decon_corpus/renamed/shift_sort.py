import sys


def can_sort_by_rotation(nums):
    if len(nums)==0:
      return True
    target=sorted(nums)
    rotated=[]
    
    smallest=min(nums)
    pos=nums.index(smallest)
    rotated=nums[pos:]+nums[0:pos]
    for k in range(len(nums)):
      if rotated[k]!=target[k]:
        return False
    return True


if __name__ == "__main__":
    print(can_sort_by_rotation(list(map(int, sys.argv[1:]))))
